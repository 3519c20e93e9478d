import type { IncomingHttpHeaders } from 'node:http';
import type { FilterConfig, RouteConfig } from '../config/schema.js';
import { type PathMatcher, patternMatcher, prefixMatcher } from './path-pattern.js';

type HeaderTest = (value: string | string[] | undefined) => boolean;

/** A route compiled for matching. */
export interface Route {
  /** The route's id (for logs and metrics). */
  readonly id: string;
  /** The validated config the route was compiled from. */
  readonly config: RouteConfig;
  /** Higher first; ties go to the more specific path. */
  readonly priority: number;
  /** Built-in filters configured on the route. */
  readonly filters: readonly FilterConfig[];
  /** @internal */
  readonly matcher: PathMatcher;
  /** @internal */
  readonly hostTest: ((host: string) => boolean) | undefined;
  /** @internal */
  readonly methods: ReadonlySet<string> | undefined;
  /** @internal */
  readonly headerTests: readonly (readonly [string, HeaderTest])[];
  /** @internal */
  readonly regex: RegExp | undefined;
  /** @internal cumulative split weights */
  readonly splits: readonly (readonly [origin: string, upTo: number])[] | undefined;
  /** @internal */
  readonly splitTotal: number;
}

/** The result of matching a request. */
export interface RouteMatch {
  /** The matched route. */
  route: Route;
  /** Path params captured by a `path` pattern (`:id`, `*`). */
  params: Record<string, string>;
}

function headerTest(matcher: string | { regex: string } | { present: boolean }): HeaderTest {
  if (typeof matcher === 'string')
    return (value) => (Array.isArray(value) ? value.includes(matcher) : value === matcher);
  if ('present' in matcher) return (value) => (value !== undefined) === matcher.present;
  const regex = new RegExp(matcher.regex);
  return (value) =>
    value !== undefined && (Array.isArray(value) ? value.some((v) => regex.test(v)) : regex.test(value));
}

function hostTest(pattern: string): (host: string) => boolean {
  const lower = pattern.toLowerCase();
  if (lower.startsWith('*.')) {
    const suffix = lower.slice(1);
    return (host) => host.endsWith(suffix) && host.length > suffix.length;
  }
  return (host) => host === lower;
}

function compile(config: RouteConfig): Route {
  const matcher = config.path !== undefined ? patternMatcher(config.path) : prefixMatcher(config.pathPrefix ?? '/');
  let splits: [string, number][] | undefined;
  let total = 0;
  if (config.splits) {
    splits = [];
    for (const split of config.splits) {
      total += split.weight;
      splits.push([split.origin, total]);
    }
  }
  return {
    id: config.id,
    config,
    priority: config.priority,
    filters: config.filters,
    matcher,
    hostTest: config.host === undefined ? undefined : hostTest(config.host),
    methods: config.methods ? new Set(config.methods) : undefined,
    headerTests: Object.entries(config.headers ?? {}).map(([name, m]) => [name.toLowerCase(), headerTest(m)] as const),
    regex: config.rewrite?.regex === undefined ? undefined : new RegExp(config.rewrite.regex),
    splits,
    splitTotal: total,
  };
}

/** Reads one cookie from a `Cookie` header without parsing the others. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq !== -1 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/**
 * An immutable route table: routes are tried by priority (higher first), then
 * by path specificity (longer literal paths first), then in config order.
 * A route matches when its path, host, methods and headers all match.
 */
export class RouteTable {
  /** Routes in match order. */
  readonly routes: readonly Route[];

  /** @param routes validated routes (see `parseConfig`). */
  constructor(routes: readonly RouteConfig[]) {
    this.routes = routes
      .map((config, index) => ({ route: compile(config), index }))
      .sort(
        (a, b) =>
          b.route.priority - a.route.priority ||
          b.route.matcher.specificity - a.route.matcher.specificity ||
          a.index - b.index,
      )
      .map(({ route }) => route);
  }

  /** Finds the route for a normalised path, method and headers, or `undefined`. */
  match(path: string, method: string, headers: IncomingHttpHeaders): RouteMatch | undefined {
    let host: string | undefined;
    for (const route of this.routes) {
      const params = route.matcher.match(path);
      if (params === undefined) continue;
      if (route.methods && !route.methods.has(method)) continue;
      if (route.hostTest) {
        // HTTP/2 requests carry the host as `:authority` (Node exposes it among the headers).
        host ??= (headers.host ?? (headers[':authority'] as string | undefined) ?? '')
          .replace(/:\d+$/, '')
          .toLowerCase();
        if (!route.hostTest(host)) continue;
      }
      let ok = true;
      for (const [name, test] of route.headerTests) {
        if (!test(headers[name])) {
          ok = false;
          break;
        }
      }
      if (ok) return { route, params };
    }
    return undefined;
  }
}

/**
 * Picks the origin for a matched request: surgical rules first (a header or
 * cookie value sends that request to its origin), then the weighted split,
 * then the route's origin.
 */
export function pickOrigin(route: Route, headers: IncomingHttpHeaders, random: () => number = Math.random): string {
  const { surgical } = route.config;
  if (surgical) {
    for (const rule of surgical) {
      if (rule.header) {
        const value = headers[rule.header.name.toLowerCase()];
        if (Array.isArray(value) ? value.includes(rule.header.value) : value === rule.header.value) return rule.origin;
      }
      if (rule.cookie && readCookie(headers.cookie, rule.cookie.name) === rule.cookie.value) return rule.origin;
    }
  }
  if (route.splits && route.splitTotal > 0) {
    const point = random() * route.splitTotal;
    for (const [origin, upTo] of route.splits) if (point < upTo) return origin;
  }
  return route.config.origin ?? (route.splits?.[0]?.[0] as string);
}

/** The path to send upstream: prefix stripped or replaced, regex rewrite applied. */
export function rewritePath(route: Route, path: string): string {
  const { config } = route;
  let out = path;
  if (config.stripPrefix || config.rewrite?.prefix !== undefined) {
    const prefix = route.matcher.prefix;
    const rest = prefix === '/' ? out : out.slice(prefix.length);
    const replacement = config.rewrite?.prefix ?? '';
    out = joinPath(replacement, rest);
  }
  if (route.regex) out = out.replace(route.regex, config.rewrite?.replacement ?? '');
  return out || '/';
}

/** Joins a base path and a path, with one slash between them. */
export function joinPath(base: string, path: string): string {
  const b = base.endsWith('/') ? base.slice(0, -1) : base;
  if (!path) return b || '/';
  return path.startsWith('/') ? `${b}${path}` : `${b}/${path}`;
}
