import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { FilterChains } from '../filters/filter.js';
import { RequestContext } from '../filters/request-context.js';
import type { GatewayMetrics, TrafficStats } from '../metrics/gateway-metrics.js';
import { setForwarded, withoutHopByHop } from '../proxy/headers.js';
import { joinPath, pickOrigin, type Route, rewritePath } from '../routing/route-table.js';
import { decideRoute } from '../security/path-policy.js';
import type { Runtime } from '../server/runtime.js';
import { startRequestSpans } from '../tracing/spans.js';

const REQUEST_ID = /^[\w.:@-]{1,128}$/;

/**
 * The request id of a request: the incoming `x-request-id` when a trusted
 * proxy sent it (Envoy's rule), a new UUID otherwise. @internal
 */
export function requestIdOf(req: IncomingMessage, trustedPeer: boolean): string {
  if (trustedPeer) {
    const incoming = req.headers['x-request-id'];
    if (typeof incoming === 'string' && REQUEST_ID.test(incoming)) return incoming;
  }
  return randomUUID();
}

/** The request id of a request answered before its context exists. @internal */
export function earlyRequestId(req: IncomingMessage, runtime: Runtime): string {
  const trusted = runtime.trusted.resolve(req.socket?.remoteAddress, req.headers['x-forwarded-for']).trustedPeer;
  return requestIdOf(req, trusted);
}

/**
 * The context of a request whose target was accepted: client IP through the
 * trusted proxies, request id, upstream headers without hop-by-hop ones and
 * with the gateway's forwarding headers, and its spans when traced. @internal
 */
export function newContext(
  runtime: Runtime,
  req: IncomingMessage,
  path: string,
  query: string,
  protocol: 'http' | 'https',
  start: number,
): RequestContext {
  const headers = req.headers;
  const client = runtime.trusted.resolve(req.socket.remoteAddress, headers['x-forwarded-for']);
  const requestId = requestIdOf(req, client.trustedPeer);
  const upstream = withoutHopByHop(headers, runtime.config.server.underscoreHeaders === 'drop');
  setForwarded(
    upstream,
    client.chain,
    client.clientIp,
    protocol,
    headers.host ?? headers[':authority' as 'host'],
    client.trustedPeer ? (headers['x-forwarded-proto'] as string | undefined) : undefined,
    client.trustedPeer ? (headers['x-forwarded-host'] as string | undefined) : undefined,
  );
  const ctx = new RequestContext({
    req,
    path,
    query,
    requestId,
    clientIp: client.clientIp,
    protocol,
    upstreamHeaders: upstream,
    maxBodyBytes: runtime.config.server.maxBodyBytes,
    startTime: start,
  });
  ctx.spans = startRequestSpans(req, ctx.method, path, query, protocol, client.clientIp);
  return ctx;
}

/** A routed request: its route, the route's traffic counters and its filter chains. @internal */
export interface Routed {
  readonly route: Route;
  readonly stats: TrafficStats;
  readonly chains: FilterChains;
}

/**
 * Matches the request's route (with the strict-path policy) and fills the
 * context from it (params, origin, upstream path, span), counting it in the
 * route's in-flight requests; or counts a request without a route and
 * returns `undefined`, or a refused one and returns why. @internal
 */
export function routeContext(
  metrics: GatewayMetrics,
  runtime: Runtime,
  ctx: RequestContext,
  raw: string,
  headers: IncomingMessage['headers'],
): Routed | { refused: string } | undefined {
  const decision = decideRoute(runtime.table, runtime.pathPolicy, { path: ctx.path, raw }, ctx.method, headers);
  if (!decision) {
    metrics.noRoute++;
    return undefined;
  }
  if ('refused' in decision) {
    metrics.rejected++;
    return decision;
  }
  const match = decision.match;
  const route = match.route;
  ctx.route = route;
  ctx.params = match.params;
  const stats = metrics.route(route.id);
  stats.inflight++;
  ctx.origin = route.config.origin !== undefined || route.splits ? pickOrigin(route, headers) : undefined;
  ctx.upstreamPath = joinPath('', rewritePath(route, ctx.path)) + ctx.query;
  ctx.spans?.routed(routeTemplate(route), route.id, ctx.origin);
  return { route, stats, chains: runtime.chains.get(route.id) ?? runtime.globalChains };
}

/** The route as OTel's `http.route`: its path pattern, or its prefix followed by `*`. @internal */
export function routeTemplate(route: Route): string {
  return route.config.path ?? joinPath(route.config.pathPrefix ?? '/', '*');
}
