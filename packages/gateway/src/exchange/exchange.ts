import type { IncomingMessage } from 'node:http';
import type { LimiterToken } from '@backlot/resilience';
import type { Dispatcher } from 'undici';
import { GatewayError } from '../errors.js';
import type { FilterChains } from '../filters/filter.js';
import type { RequestContext } from '../filters/request-context.js';
import { runPhase } from '../filters/run-phase.js';
import type { TrafficStats } from '../metrics/gateway-metrics.js';
import { type ExchangeOriginCall, ORIGIN_CALL } from '../origins/chain/origin-call.js';
import type { Origin } from '../origins/origin.js';
import { clientClosed } from '../proxy/fault.js';
import { clientBody, hasRequestBody, readBody } from '../proxy/request-body.js';
import type { Route } from '../routing/route-table.js';
import { normalizeTarget } from '../security/normalize-path.js';
import { requestHeadProblem, TRACE_REFUSED } from '../security/request-head.js';
import { upgradeAllowed } from '../security/upgrade-policy.js';
import type { Runtime } from '../server/runtime.js';
import { logAccess, publishFinished } from './accounting.js';
import type { ClientSide } from './client-side.js';
import { earlyRequestId, newContext, routeContext } from './context.js';
import type { GatewayState } from './gateway-state.js';
import { OriginResponseHandler } from './origin-response-handler.js';
import { errorJson, ResponseWriter } from './response-writer.js';

/** The `Allow` header of a refused `TRACE`. */
const ALLOW = 'GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS';
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);

/** The error for a request refused at the edge: `TRACE` (405) or a malformed target or head (400). */
function refusalError(reason: string): GatewayError {
  return reason === TRACE_REFUSED
    ? new GatewayError('BACKLOT_GATEWAY_METHOD_NOT_ALLOWED', reason, { headers: { allow: ALLOW } })
    : new GatewayError('BACKLOT_GATEWAY_BAD_REQUEST', reason);
}

/** A request body as the exchange sends it. */
type OutboundBody = Buffer | AsyncIterable<Buffer> | NodeJS.ReadableStream | null;

/** What an exchange is built from: the gateway's shared state, the client's request and where its answer goes. @internal */
export interface ExchangeOptions {
  readonly gateway: GatewayState;
  readonly req: IncomingMessage;
  readonly client: ClientSide;
}

/**
 * One exchange with a client, whichever entrance it came through (an HTTP
 * request, an HTTP/1.1 upgrade, an HTTP/2 extended CONNECT): one lifecycle
 * — drain check, the gateway-wide adaptive concurrency limit, target and
 * head checks, context, in-flight count, route, inbound and endpoint
 * filters, then a local answer or the origin's (with retries) — one writer
 * ({@link ResponseWriter}) and one finish: route and origin counters, the
 * limit's sample, the access log, the spans and the diagnostics channel.
 *
 * Draining: an HTTP/1.1 request is still served, its connection then closed;
 * an upgrade is refused with `503 shutting_down`, because a tunnel has no
 * end a drain can wait for (it would be cut at the drain's deadline). @internal
 */
export class Exchange {
  readonly #gateway: GatewayState;
  readonly #runtime: Runtime;
  readonly #req: IncomingMessage;
  readonly #client: ClientSide;
  readonly #start = performance.now();
  #token: LimiterToken | undefined;
  #ctx: RequestContext | undefined;
  #writer: ResponseWriter | undefined;
  #chains: FilterChains;
  #route: Route | undefined;
  #routeStats: TrafficStats | undefined;
  #originStats: TrafficStats | undefined;
  #originHandler: OriginResponseHandler | undefined;
  #upgradeToken: string | undefined;
  #finished = false;

  constructor(options: ExchangeOptions) {
    this.#gateway = options.gateway;
    this.#runtime = options.gateway.runtime; // one snapshot for the whole exchange: reloads never mix configs
    this.#req = options.req;
    this.#client = options.client;
    this.#chains = this.#runtime.globalChains;
  }

  /** Runs the exchange; its answer is written as it comes (nothing to await). */
  begin(): void {
    const gateway = this.#gateway;
    const runtime = this.#runtime;
    const req = this.#req;
    const client = this.#client;
    if (gateway.draining) {
      if (client.kind === 'upgrade') {
        this.#answerEarly(new GatewayError('BACKLOT_GATEWAY_SHUTTING_DOWN', 'the gateway is shutting down'));
        return;
      }
      client.closeAfter(); // in-flight and late keep-alive requests are still served, each closing its connection
    }
    if (runtime.limiter) {
      this.#token = runtime.limiter.tryAcquire();
      if (!this.#token) {
        gateway.metrics.shedGateway++;
        this.#answerEarly(
          new GatewayError('BACKLOT_GATEWAY_SHED', 'the gateway is at its concurrency limit', {
            headers: { 'retry-after': '1' },
          }),
        );
        return;
      }
    }
    const target = normalizeTarget(req.url ?? '/');
    let refusal: string | undefined;
    if (!target.ok) refusal = target.reason;
    else if (client.kind === 'upgrade') {
      const verdict = client.verdict(req);
      if (verdict.ok) this.#upgradeToken = verdict.token;
      else refusal = verdict.reason;
    }
    refusal ??= requestHeadProblem(req, runtime.config.server);
    if (!target.ok || refusal !== undefined) {
      this.#token?.onIgnore();
      this.#token = undefined;
      gateway.metrics.rejected++;
      client.closeAfter();
      this.#answerEarly(refusalError(refusal as string));
      return;
    }

    const ctx = newContext(runtime, req, target.path, target.query, gateway.protocol, this.#start);
    this.#ctx = ctx;
    gateway.enter();
    client.onClosed((status, aborted) => this.#finish(status, aborted));

    const routed = routeContext(gateway.metrics, runtime, ctx, target.raw, req.headers);
    if (!routed || 'refused' in routed) {
      this.#newWriter().fail(
        routed
          ? new GatewayError('BACKLOT_GATEWAY_BAD_REQUEST', routed.refused)
          : new GatewayError('BACKLOT_GATEWAY_NO_ROUTE', `no route for ${ctx.method} ${ctx.path}`),
      );
      return;
    }
    this.#route = routed.route;
    this.#routeStats = routed.stats;
    this.#chains = routed.chains;
    const writer = this.#newWriter();
    const token = this.#upgradeToken;
    if (token !== undefined && !upgradeAllowed(routed.route.config.upgrades, token)) {
      gateway.metrics.rejected++;
      writer.fail(
        new GatewayError(
          'BACKLOT_GATEWAY_BAD_REQUEST',
          `route '${routed.route.id}' does not tunnel '${token}' upgrades`,
        ),
      );
      return;
    }
    this.#filterThenForward(ctx, writer);
  }

  /** Answers before a context exists (draining upgrade, shed, bad target or head): nothing to account. */
  #answerEarly(error: GatewayError): void {
    const requestId = earlyRequestId(this.#req, this.#runtime);
    this.#client.answer(
      error.status,
      { 'x-request-id': requestId, ...error.headers, 'content-type': 'application/json' },
      errorJson(error, requestId),
    );
  }

  #newWriter(): ResponseWriter {
    const token = this.#upgradeToken;
    this.#writer = new ResponseWriter({
      gateway: this.#gateway,
      client: this.#client,
      ctx: this.#ctx as RequestContext,
      outbound: this.#chains.outbound,
      upgrade:
        token === undefined
          ? undefined
          : { token, idleMs: this.#route?.config.idleTimeoutMs, opened: () => this.#settleToken(101, false) },
    });
    return this.#writer;
  }

  /** Inbound then endpoint filters; a local answer when one responded, the origin otherwise. Synchronous while every filter is. */
  #filterThenForward(ctx: RequestContext, writer: ResponseWriter): void {
    const chains = this.#chains;
    try {
      const inbound = chains.inbound.length ? runPhase('inbound', chains.inbound, ctx, true) : undefined;
      const result = inbound ? inbound.then(() => this.#afterInbound(ctx, writer)) : this.#afterInbound(ctx, writer);
      if (result) result.catch((error: unknown) => writer.fail(error));
    } catch (error) {
      writer.fail(error);
    }
  }

  #afterInbound(ctx: RequestContext, writer: ResponseWriter): void | Promise<void> {
    if (ctx.responded) return writer.local();
    const endpoint = this.#chains.endpoint;
    const result = endpoint.length ? runPhase('endpoint', endpoint, ctx, true) : undefined;
    if (result) return result.then(() => (ctx.responded ? writer.local() : this.#forward(ctx, writer)));
    if (ctx.responded) return writer.local();
    return this.#forward(ctx, writer);
  }

  /** Sends the request on to its origin (no async function on the common path: one promise fewer per request). */
  #forward(ctx: RequestContext, writer: ResponseWriter): Promise<void> | undefined {
    const origin = ctx.origin === undefined ? undefined : this.#runtime.origins.get(ctx.origin);
    if (!origin) {
      writer.fail(new GatewayError('BACKLOT_GATEWAY_NO_ROUTE', `route '${this.#route?.id}' has no endpoint`));
      return undefined;
    }
    const client = this.#client;
    if (client.destroyed) return undefined;
    if (client.kind === 'upgrade') {
      client.prepare(ctx.upstreamHeaders);
      this.#send(origin, null, true);
      return undefined;
    }
    if (hasRequestBody(this.#req)) return this.#forwardWithBody(origin);
    this.#send(origin, null, true);
    return undefined;
  }

  async #forwardWithBody(origin: Origin): Promise<void> {
    const req = this.#req;
    const ctx = this.#ctx as RequestContext;
    const client = this.#client;
    const expect = req.headers.expect;
    if (client.kind === 'response' && typeof expect === 'string' && expect.toLowerCase() === '100-continue') {
      client.writeContinue();
    }
    const length = req.headers['content-length'];
    const declared = length === undefined ? undefined : Number(length);
    const bufferLimit = this.#route?.config.retry ? origin.config.retry.bufferBodyBytes : 0;
    const limit = ctx.maxBodyBytes ?? Number.POSITIVE_INFINITY;
    const idle = this.#runtime.config.server.bodyIdleTimeoutMs;
    if (declared !== undefined && declared > limit) {
      this.#writer?.fail(new GatewayError('BACKLOT_GATEWAY_BODY_TOO_LARGE', `request body over ${limit} bytes`));
      return;
    }
    if (declared !== undefined && declared <= bufferLimit) {
      this.#send(origin, await readBody(req, limit, idle), true);
    } else {
      this.#send(origin, clientBody(req, limit, idle), false);
    }
  }

  /**
   * Dispatches the request through its origin's chain (retry, breaker,
   * concurrency limit, timeout, outlier detection, the balancer: see
   * {@link Origin.dispatcher}) under the request's deadline (`deadlineMs`,
   * over the whole chain); the answer comes back to the writer through an
   * {@link OriginResponseHandler}.
   */
  #send(origin: Origin, body: OutboundBody, replayable: boolean): void {
    const ctx = this.#ctx as RequestContext;
    const writer = this.#writer as ResponseWriter;
    if (this.#client.destroyed) return;
    const route = this.#route?.config;
    const stats = this.#gateway.metrics.origin(origin.name);
    this.#originStats = stats;
    writer.expect(origin.name, route?.bufferResponse?.maxBytes);
    const call: ExchangeOriginCall = {
      maxAttempts: (route?.retry ?? true) && replayable ? origin.config.retry.maxAttempts : 1,
      idempotent: IDEMPOTENT.has(ctx.method),
      attempt: 1,
      exclude: undefined,
      server: undefined,
      stats,
      spans: ctx.spans,
      innermost: undefined,
      cancelled: undefined,
    };
    const options: Dispatcher.DispatchOptions & { [ORIGIN_CALL]: ExchangeOriginCall } = {
      path: ctx.upstreamPath,
      method: ctx.method as Dispatcher.HttpMethod,
      headers: ctx.upstreamHeaders,
      body: body as Buffer | null,
      bodyTimeout: route?.idleTimeoutMs ?? origin.config.bodyTimeoutMs,
      [ORIGIN_CALL]: call,
    };
    if (route?.timeoutMs !== undefined) options.headersTimeout = route.timeoutMs;
    if (this.#upgradeToken !== undefined) options.upgrade = this.#upgradeToken;
    const handler = new OriginResponseHandler(writer, origin, call);
    this.#originHandler = handler;
    handler.dispatched(performance.now());
    try {
      if (ctx.spans) ctx.spans.run(() => origin.dispatcher.dispatch(options, handler));
      else origin.dispatcher.dispatch(options, handler);
    } catch (error) {
      // A step of the chain threw instead of failing through its handler (a user's interceptor, say).
      handler.onResponseError(undefined, error as Error);
    }
  }

  /** Gives the gateway-wide limit its sample, once: at the tunnel's opening for an upgrade, at the finish otherwise. */
  #settleToken(status: number, aborted: boolean): void {
    const token = this.#token;
    if (!token) return;
    this.#token = undefined;
    // what the client caused (a slow or oversized body, a refused request) is no sample for the limit
    if (aborted || this.#ctx?.failure?.fault === 'client') token.onIgnore();
    else if (status === 503 || status === 504) token.onDropped();
    else token.onSuccess();
  }

  /** The one finish of every exchange: counters, the limit's sample, the access log, spans, diagnostics, in-flight. */
  #finish(status: number, aborted: boolean): void {
    if (this.#finished) return;
    this.#finished = true;
    const ctx = this.#ctx as RequestContext;
    if (aborted) {
      this.#writer?.clientClosed();
      this.#originHandler?.cancel(clientClosed());
    }
    const seconds = (performance.now() - this.#start) / 1000;
    const routeStats = this.#routeStats;
    if (routeStats) {
      routeStats.inflight--;
      routeStats.record(status, seconds);
    }
    this.#originStats?.record(status, seconds);
    this.#settleToken(status, aborted);
    logAccess(this.#gateway.accessLog, ctx, status, seconds, aborted);
    ctx.spans?.end(status, aborted);
    publishFinished(ctx, status, seconds, aborted);
    this.#gateway.leave();
  }
}
