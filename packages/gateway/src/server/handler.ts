import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { LimiterToken } from '@backlot/resilience';
import { type GatewayRequestMessage, requestChannel } from '../diagnostics/channels.js';
import { ERROR_STATUS, GatewayError, isGatewayError, publicMessage } from '../errors.js';
import type { FilterChains } from '../filters/filter.js';
import { RequestContext } from '../filters/request-context.js';
import { runPhase, runRequestPhases } from '../filters/run-phase.js';
import type { AccessLog, AccessLogEntry } from '../logging/access-log.js';
import type { GatewayMetrics, TrafficStats } from '../metrics/gateway-metrics.js';
import type { Origin } from '../origins/origin.js';
import { Exchange, type ExchangeBody } from '../proxy/exchange.js';
import { setForwarded, withoutHopByHop } from '../proxy/headers.js';
import { clientBody, hasRequestBody, readBody } from '../proxy/request-body.js';
import { errorBody, writeError } from '../proxy/respond.js';
import { joinPath, pickOrigin, type Route, rewritePath } from '../routing/route-table.js';
import { normalizeTarget } from '../security/normalize-path.js';
import { decideRoute } from '../security/path-policy.js';
import { requestHeadProblem, TRACE_REFUSED } from '../security/request-head.js';
import { startRequestSpans } from '../tracing/spans.js';
import type { Runtime } from './runtime.js';

/** The `Allow` header of a refused `TRACE`. */
const ALLOW = 'GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS';

/** Mutable state the request handler reads on every request. @internal */
export interface HandlerState {
  runtime: Runtime;
  readonly metrics: GatewayMetrics;
  accessLog: AccessLog | undefined;
  draining: boolean;
  inflight: number;
  onIdle: (() => void) | undefined;
  /** Client sockets of upgraded connections (WebSocket tunnels), closed by `close()`. */
  readonly tunnels: Set<Duplex>;
}

const REQUEST_ID = /^[\w.:@-]{1,128}$/;

/** Writes the access-log line of one exchange, when the log is on and samples it (built only then). @internal */
export function logAccess(
  accessLog: AccessLog | undefined,
  ctx: Pick<RequestContext, 'method' | 'path' | 'route' | 'origin' | 'clientIp' | 'failure'>,
  requestId: string,
  status: number,
  seconds: number,
  aborted: boolean,
): void {
  if (!accessLog?.wants(status, aborted)) return;
  accessLog.write({
    requestId,
    method: ctx.method,
    path: ctx.path,
    route: ctx.route?.id,
    origin: ctx.origin,
    status,
    durationMs: seconds * 1000,
    clientIp: ctx.clientIp,
    aborted,
    ...(ctx.failure ? { error: failureDetail(ctx.failure) } : {}),
  });
}

/** What the log (never the client) learns about a failure: its code, fault, message and cause. */
function failureDetail(error: GatewayError): NonNullable<AccessLogEntry['error']> {
  const cause = error.cause as { message?: unknown; code?: unknown } | undefined;
  return {
    code: error.code,
    fault: error.fault,
    message: error.message,
    ...(cause === undefined
      ? {}
      : { cause: `${typeof cause.code === 'string' ? `${cause.code}: ` : ''}${String(cause.message ?? cause)}` }),
  };
}

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
export function failureContext(req: IncomingMessage, runtime: Runtime): { requestId: string } {
  const trusted = runtime.trusted.resolve(req.socket?.remoteAddress, req.headers['x-forwarded-for']).trustedPeer;
  return { requestId: requestIdOf(req, trusted) };
}

/** Answers before a context exists (bad target, draining, shed). */
function answerEarly(res: ServerResponse, error: GatewayError, requestId: string): void {
  writeError(res, error, requestId, { 'x-request-id': requestId });
}

/**
 * The context of a request whose target was accepted: client IP through the
 * trusted proxies, request id, upstream headers without hop-by-hop ones and
 * with the gateway's forwarding headers. Shared by requests and upgrades. @internal
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
  const ctx = new RequestContext(
    req,
    path,
    query,
    requestId,
    client.clientIp,
    protocol,
    upstream,
    runtime.config.server.maxBodyBytes,
    start,
  );
  ctx.spans = startRequestSpans(req, ctx.method, path, query, protocol, client.clientIp);
  return ctx;
}

/**
 * Creates the request listener: shed / normalise / route / inbound filters /
 * endpoint (local filters or the proxy) / outbound filters, with metrics and
 * the access log when the response closes.
 */
export function createHandler(state: HandlerState, protocol: 'http' | 'https') {
  return function handle(req: IncomingMessage, res: ServerResponse): void {
    const runtime = state.runtime; // one snapshot for the whole request: reloads never mix configs
    const start = performance.now();
    // Draining: in-flight and late keep-alive requests are still served, each closing its connection.
    const h1 = req.httpVersionMajor < 2; // HTTP/2 has no Connection header
    if (state.draining && h1) res.setHeader('connection', 'close');
    let token: LimiterToken | undefined;
    if (runtime.limiter) {
      token = runtime.limiter.tryAcquire();
      if (!token) {
        state.metrics.shedGateway++;
        answerEarly(
          res,
          new GatewayError('BACKLOT_GATEWAY_SHED', 'the gateway is at its concurrency limit', {
            headers: { 'retry-after': '1' },
          }),
          failureContext(req, runtime).requestId,
        );
        return;
      }
    }
    const target = normalizeTarget(req.url ?? '/');
    const refusal = target.ok ? requestHeadProblem(req, runtime.config.server) : target.reason;
    if (!target.ok || refusal !== undefined) {
      token?.onIgnore();
      state.metrics.rejected++;
      if (h1) res.setHeader('connection', 'close');
      answerEarly(
        res,
        refusalError(target.ok ? (refusal as string) : target.reason),
        failureContext(req, runtime).requestId,
      );
      return;
    }

    const headers = req.headers;
    const ctx = newContext(runtime, req, target.path, target.query, protocol, start);
    const requestId = ctx.requestId;

    state.inflight++;
    let routeStats: TrafficStats | undefined;
    let exchange: Exchange | undefined;
    res.once('close', () => {
      const aborted = !res.writableFinished;
      if (aborted) exchange?.abort();
      const status = res.statusCode;
      const seconds = (performance.now() - start) / 1000;
      if (routeStats) {
        routeStats.inflight--;
        routeStats.record(status, seconds);
      }
      if (exchange) exchange.originStats.record(status, seconds);
      if (token) {
        // what the client caused (a slow or oversized body, a refused request) is no sample for the limit
        if (aborted || ctx.failure?.fault === 'client') token.onIgnore();
        else if (status === 503 || status === 504) token.onDropped();
        else token.onSuccess();
      }
      logAccess(state.accessLog, ctx, requestId, status, seconds, aborted);
      ctx.spans?.end(status, aborted);
      if (requestChannel.hasSubscribers) {
        requestChannel.publish({
          requestId,
          method: ctx.method,
          path: ctx.path,
          route: ctx.route?.id,
          status,
          seconds,
          aborted,
        } satisfies GatewayRequestMessage);
      }
      if (--state.inflight === 0 && state.onIdle) state.onIdle();
    });

    let chains = runtime.globalChains;
    const routed = routeContext(state, runtime, ctx, target.raw, headers);
    if (!routed || 'refused' in routed) {
      fail(
        routed
          ? new GatewayError('BACKLOT_GATEWAY_BAD_REQUEST', routed.refused)
          : new GatewayError('BACKLOT_GATEWAY_NO_ROUTE', `no route for ${ctx.method} ${ctx.path}`),
      );
      return;
    }
    routeStats = routed.stats;
    chains = routed.chains;
    const { route } = routed;

    function fail(error: unknown): void {
      const gatewayError = isGatewayError(error)
        ? error
        : new GatewayError('BACKLOT_GATEWAY_FILTER_FAILED', `filter failed: ${(error as Error)?.message}`, {
            cause: error,
          });
      if (res.headersSent || res.destroyed) {
        res.destroy();
        return;
      }
      ctx.failure = gatewayError;
      if (h1 && hasRequestBody(req) && !req.readableEnded) res.setHeader('connection', 'close');
      const body = errorBody(ERROR_NAME[gatewayError.code] ?? 'error', publicMessage(gatewayError), requestId);
      const errorHeaders: Record<string, string> = { ...gatewayError.headers, 'content-type': 'application/json' };
      if (!h1) delete errorHeaders.connection;
      ctx.respond(gatewayError.status, body, errorHeaders);
      finishLocal(true);
    }

    function finishLocal(isError = false): void {
      const outbound = chains.outbound;
      const write = () => {
        if (res.headersSent || res.destroyed) return;
        const head = ctx.response ?? { status: 200, headers: {} };
        const body = ctx.responseBody ?? ctx.localBody;
        head.headers['content-length'] = body === undefined ? 0 : Buffer.byteLength(body);
        if (head.headers['x-request-id'] === undefined) head.headers['x-request-id'] = requestId;
        res.writeHead(head.status, head.headers);
        res.end(body);
      };
      if (outbound.length === 0) {
        write();
        return;
      }
      try {
        const result = runPhase('outbound', outbound, ctx, false);
        if (result) result.then(write, isError ? write : fail);
        else write();
      } catch (error) {
        if (isError) write();
        else fail(error);
      }
    }

    const startExchange = (origin: Origin, body: ExchangeBody, replayable: boolean): Promise<void> | undefined => {
      if (res.destroyed) return undefined;
      exchange = new Exchange(ctx, res, origin, chains.outbound, state.metrics.origin(origin.name), body, replayable, {
        fail,
        draining: () => state.draining,
      });
      return exchange.run();
    };

    const proxyWithBody = async (origin: Origin): Promise<void> => {
      const expect = headers.expect;
      if (typeof expect === 'string' && expect.toLowerCase() === '100-continue') res.writeContinue();
      const declared = headers['content-length'] === undefined ? undefined : Number(headers['content-length']);
      const bufferLimit = route.config.retry ? origin.config.retry.bufferBodyBytes : 0;
      const limit = ctx.maxBodyBytes ?? Number.POSITIVE_INFINITY;
      const idle = runtime.config.server.bodyIdleTimeoutMs;
      if (declared !== undefined && declared > limit) {
        fail(new GatewayError('BACKLOT_GATEWAY_BODY_TOO_LARGE', `request body over ${limit} bytes`));
        return;
      }
      if (declared !== undefined && declared <= bufferLimit) {
        await startExchange(origin, await readBody(req, limit, idle), true);
      } else {
        await startExchange(origin, clientBody(req, limit, idle), false);
      }
    };

    // No async function on the common path (no body): one promise fewer per request.
    const proxy = (): Promise<void> | undefined => {
      const originName = ctx.origin;
      const origin = originName === undefined ? undefined : runtime.origins.get(originName);
      if (!origin) {
        fail(new GatewayError('BACKLOT_GATEWAY_NO_ROUTE', `route '${route.id}' has no endpoint`));
        return undefined;
      }
      return hasRequestBody(req) ? proxyWithBody(origin) : startExchange(origin, null, true);
    };

    runRequestPhases(chains, ctx, finishLocal, proxy, fail);
  };
}

/** The error for a request refused at the edge: `TRACE` (405) or a malformed target or head (400). @internal */
export function refusalError(reason: string): GatewayError {
  return reason === TRACE_REFUSED
    ? new GatewayError('BACKLOT_GATEWAY_METHOD_NOT_ALLOWED', reason, { headers: { allow: ALLOW } })
    : new GatewayError('BACKLOT_GATEWAY_BAD_REQUEST', reason);
}

/** @internal */
export const ERROR_NAME: Record<string, string> = Object.fromEntries(
  Object.entries(ERROR_STATUS).map(([code, [, name]]) => [code, name]),
);

/**
 * Matches the request's route (with the strict-path policy) and fills the
 * context from it (params, origin, upstream path, span), counting it in the
 * route's in-flight requests; or counts a request without a route and
 * returns `undefined`, or a refused one and returns why. Shared by requests
 * and upgrades. @internal
 */
export function routeContext(
  state: HandlerState,
  runtime: Runtime,
  ctx: RequestContext,
  raw: string,
  headers: IncomingMessage['headers'],
): { route: Route; stats: TrafficStats; chains: FilterChains } | { refused: string } | undefined {
  const decision = decideRoute(runtime.table, runtime.pathPolicy, { path: ctx.path, raw }, ctx.method, headers);
  if (!decision) {
    state.metrics.noRoute++;
    return undefined;
  }
  if ('refused' in decision) {
    state.metrics.rejected++;
    return decision;
  }
  const match = decision.match;
  const route = match.route;
  ctx.route = route;
  ctx.params = match.params;
  const stats = state.metrics.route(route.id);
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
