import { defineFilter, type Filter } from '../filter.js';

/** Options of {@link corsFilters}. */
export interface CorsOptions {
  origins: string[];
  methods: string[];
  headers: string[];
  exposeHeaders: string[];
  credentials: boolean;
  maxAgeSeconds: number;
}

/** CORS: answers preflights (204) and adds `Access-Control-Allow-Origin` to allowed origins' responses. */
export function corsFilters(options: CorsOptions): Filter[] {
  const any = options.origins.includes('*');
  const allowed = new Set(options.origins);
  const allowOrigin = (origin: string | undefined) =>
    origin === undefined
      ? undefined
      : any && !options.credentials
        ? '*'
        : any || allowed.has(origin)
          ? origin
          : undefined;
  const methods = options.methods.join(', ');
  return [
    defineFilter({
      name: 'cors',
      phase: 'inbound',
      order: -900,
      run(ctx) {
        const origin = ctx.req.headers.origin;
        if (ctx.method !== 'OPTIONS' || origin === undefined || !ctx.req.headers['access-control-request-method']) {
          return;
        }
        const allow = allowOrigin(origin);
        if (allow === undefined) {
          ctx.respond(403, JSON.stringify({ error: 'cors_forbidden', message: `origin ${origin} is not allowed` }), {
            'content-type': 'application/json',
          });
          return;
        }
        const requested = ctx.req.headers['access-control-request-headers'];
        ctx.respond(204, undefined, {
          'access-control-allow-origin': allow,
          'access-control-allow-methods': methods,
          'access-control-allow-headers': options.headers.length ? options.headers.join(', ') : (requested ?? ''),
          'access-control-max-age': String(options.maxAgeSeconds),
          ...(options.credentials ? { 'access-control-allow-credentials': 'true' } : {}),
          vary: 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers',
        });
      },
    }),
    defineFilter({
      name: 'cors',
      phase: 'outbound',
      order: 0,
      run(ctx) {
        const allow = allowOrigin(ctx.req.headers.origin);
        if (!ctx.response || allow === undefined) return;
        const headers = ctx.response.headers;
        headers['access-control-allow-origin'] = allow;
        if (options.credentials) headers['access-control-allow-credentials'] = 'true';
        if (options.exposeHeaders.length) headers['access-control-expose-headers'] = options.exposeHeaders.join(', ');
        if (allow !== '*') headers.vary = headers.vary ? `${String(headers.vary)}, Origin` : 'Origin';
      },
    }),
  ];
}
