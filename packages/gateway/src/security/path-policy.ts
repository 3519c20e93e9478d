import type { IncomingHttpHeaders } from 'node:http';
import type { RouteConfig } from '../config/schema.js';
import { type Route, type RouteMatch, RouteTable } from '../routing/route-table.js';
import { removeDotSegments } from './normalize-path.js';

/**
 * How paths that origins may read differently from the gateway are treated
 * (`server.strictPaths`):
 * - `protected` (default): refused (`400`) when a lenient origin's reading
 *   would reach a *protected* route (one with a `jwt` or `apiKey` filter of
 *   its own) other than the one the gateway matched, unless that one answers
 *   locally (a `static` route without origin): `/admin;x`, `/ADMIN/x`,
 *   `/admin.json`, `/api/..;/admin`.
 * - `all`: any `;` in a path is refused, and so is any path a lenient
 *   reading would send to another route.
 * - `off`: no such check (only the RFC 3986 normalisation).
 */
export type StrictPaths = 'protected' | 'all' | 'off';

/** Built-in filters that authenticate: a route with one of its own is protected. */
const GUARDS = new Set(['jwt', 'apiKey']);

/** Whether a route has guarding filters of its own (global filters guard every route alike). */
export function isProtected(route: Route): boolean {
  return route.filters.some((filter) => GUARDS.has(filter.type));
}

/** Decodes every escape of a path (`%3B` → `;`, `%61` → `a`), byte by byte. */
function decodeAll(path: string): string {
  return path.replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
}

/**
 * The path as a lenient origin may read the path it was sent (`raw`: as
 * the client sent it; the gateway refused encoded slashes, backslashes and
 * controls already): every escape decoded (`%3B` → `;`), `;` parameters
 * dropped from each segment (Tomcat, Jetty: `/admin;x` → `/admin`,
 * `/..;/` → `/../`), then dot and empty segments, lower case
 * (case-insensitive servers), and a `.ext` suffix of the last segment
 * dropped (suffix pattern matching: `/admin.json` → `/admin`).
 */
export function lenientReading(raw: string): string {
  let out = raw.includes('%') ? decodeAll(raw) : raw;
  if (out.includes(';')) {
    out = out
      .split('/')
      .map((segment) => {
        const at = segment.indexOf(';');
        return at === -1 ? segment : segment.slice(0, at);
      })
      .join('/');
  }
  out = removeDotSegments(out).toLowerCase();
  const slash = out.lastIndexOf('/');
  const dot = out.lastIndexOf('.');
  if (dot > slash + 1) out = out.slice(0, dot);
  return out;
}

/** Whether a normalised path may read differently to a lenient origin: it has `;`, `.`, `%` or an upper-case letter. */
function ambiguous(path: string): boolean {
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c === 59 || c === 46 || c === 37 || (c >= 65 && c <= 90)) return true;
  }
  return false;
}

/** A route that answers itself (a `static` filter, no origin): nothing it serves comes from an origin. */
function answersLocally(route: Route): boolean {
  return route.config.origin === undefined && route.config.splits === undefined;
}

function lowerCasePaths(route: RouteConfig): RouteConfig {
  return {
    ...route,
    ...(route.path === undefined ? {} : { path: route.path.toLowerCase() }),
    ...(route.pathPrefix === undefined ? {} : { pathPrefix: route.pathPrefix.toLowerCase() }),
  };
}

/**
 * The strict-path check of one route table: compares the route the gateway
 * matched with the route a lenient origin's reading of the path would match
 * (in a copy of the table with lower-case paths). Built only when it can
 * refuse something, and it costs nothing for paths without `;`, `.` or
 * upper-case letters.
 */
export class PathPolicy {
  readonly #mode: Exclude<StrictPaths, 'off'>;
  readonly #lenient: RouteTable;
  readonly #guarded: ReadonlySet<string>;

  private constructor(mode: Exclude<StrictPaths, 'off'>, routes: readonly RouteConfig[], guarded: Set<string>) {
    this.#mode = mode;
    this.#lenient = new RouteTable(routes.map(lowerCasePaths));
    this.#guarded = guarded;
  }

  /** The policy for a route table, or `undefined` when it could never refuse a path. */
  static for(mode: StrictPaths, table: RouteTable): PathPolicy | undefined {
    if (mode === 'off') return undefined;
    const guarded = new Set(table.routes.filter(isProtected).map((route) => route.id));
    if (mode === 'protected' && guarded.size === 0) return undefined;
    return new PathPolicy(
      mode,
      table.routes.map((route) => route.config),
      guarded,
    );
  }

  /**
   * Why a request is refused, given its path as sent (`raw`) and the route
   * the gateway matched for its normalised path; `undefined` when it is not.
   */
  check(
    raw: string,
    method: string,
    headers: IncomingHttpHeaders,
    matched: RouteMatch | undefined,
  ): string | undefined {
    if (!ambiguous(raw)) return undefined;
    if (this.#mode === 'all' && raw.includes(';')) return "';' path parameters are refused (server.strictPaths: 'all')";
    const lenient = this.#lenient.match(lenientReading(raw), method, headers);
    if (lenient === undefined || lenient.route.id === matched?.route.id) return undefined;
    if (matched && answersLocally(matched.route)) return undefined; // never reaches an origin
    if (this.#mode === 'all' || this.#guarded.has(lenient.route.id)) {
      return 'the path reads as another route to lenient servers (case, ; parameters or a suffix); refused (server.strictPaths)';
    }
    return undefined;
  }
}

/** The route decision for a normalised path: a match, a refusal (`400`), or no route (`404`). */
export type RouteDecision = { match: RouteMatch } | { refused: string } | undefined;

/**
 * Matches a normalised path in the route table, then applies the strict-path
 * policy to the path as sent (`raw`): the one routing decision requests and
 * upgrades both use (and the property tests check).
 */
export function decideRoute(
  table: RouteTable,
  policy: PathPolicy | undefined,
  target: { readonly path: string; readonly raw: string },
  method: string,
  headers: IncomingHttpHeaders,
): RouteDecision {
  const match = table.match(target.path, method, headers);
  const refused = policy?.check(target.raw, method, headers, match);
  if (refused !== undefined) return { refused };
  return match ? { match } : undefined;
}
