import { z } from 'zod';

/** One route: requests whose path starts with `pathPrefix` go to `origin`. */
export interface RouteConfig {
  /** A name for logs and metrics, unique in the table. */
  id: string;
  /** Path prefix to match, on segment boundaries: `/api` matches `/api` and `/api/x`, not `/apix`. */
  pathPrefix: string;
  /** Base URL of the origin, e.g. `http://127.0.0.1:8081`. */
  origin: string;
  /** Remove the prefix before forwarding (`/api/titles` → `/titles`). Default `false`. */
  stripPrefix?: boolean | undefined;
}

/** A route after validation, as the gateway uses it. */
export interface Route {
  readonly id: string;
  readonly pathPrefix: string;
  readonly origin: URL;
  readonly stripPrefix: boolean;
}

/** The result of matching a request path. */
export interface RouteMatch {
  /** The matched route. */
  route: Route;
  /** The path (with query string) to send to the origin. */
  upstreamPath: string;
}

const routeSchema = z.object({
  id: z.string({ error: 'id is required: a unique name for the route' }).min(1, 'id must not be empty'),
  pathPrefix: z
    .string({ error: "pathPrefix is required, e.g. '/api'" })
    .startsWith('/', "pathPrefix must start with '/', e.g. '/api'"),
  origin: z
    .url({ protocol: /^https?$/, error: "origin must be an http(s) URL, e.g. 'http://127.0.0.1:8081'" })
    .refine((url) => !new URL(url).search && !new URL(url).hash, 'origin must not have a query string or fragment'),
  stripPrefix: z.boolean().optional(),
});

const tableSchema = z
  .array(routeSchema, { error: 'routes must be an array of { id, pathPrefix, origin }' })
  .min(1, 'routes must contain at least one route')
  .superRefine((routes, ctx) => {
    const seen = new Set<string>();
    routes.forEach((route, index) => {
      if (seen.has(route.id)) {
        ctx.addIssue({ code: 'custom', path: [index, 'id'], message: `duplicate route id '${route.id}'` });
      }
      seen.add(route.id);
    });
  });

function trimSlash(path: string): string {
  return path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
}

/**
 * An immutable, validated route table. The longest matching prefix wins, so
 * `/api/admin` can be routed apart from `/api`.
 */
export class RouteTable {
  /** Routes, longest prefix first. */
  readonly routes: readonly Route[];

  /** @throws {TypeError} naming each bad field of the config. */
  constructor(config: readonly RouteConfig[]) {
    const parsed = tableSchema.safeParse(config);
    if (!parsed.success) throw new TypeError(`invalid routes: ${z.prettifyError(parsed.error)}`);
    this.routes = parsed.data
      .map((route) => ({
        id: route.id,
        pathPrefix: trimSlash(route.pathPrefix),
        origin: new URL(route.origin),
        stripPrefix: route.stripPrefix ?? false,
      }))
      .sort((a, b) => b.pathPrefix.length - a.pathPrefix.length);
  }

  /** Finds the route for a request target (`/path?query`), or `undefined`. */
  match(target: string): RouteMatch | undefined {
    const queryAt = target.indexOf('?');
    const path = queryAt === -1 ? target : target.slice(0, queryAt);
    const query = queryAt === -1 ? '' : target.slice(queryAt);
    for (const route of this.routes) {
      const prefix = route.pathPrefix;
      const matches =
        prefix === '/' || path === prefix || (path.startsWith(prefix) && path.charCodeAt(prefix.length) === 47); // '/'
      if (!matches) continue;
      const rest = route.stripPrefix && prefix !== '/' ? path.slice(prefix.length) || '/' : path;
      const base = trimSlash(route.origin.pathname) === '/' ? '' : trimSlash(route.origin.pathname);
      return { route, upstreamPath: `${base}${rest}${query}` };
    }
    return undefined;
  }
}
