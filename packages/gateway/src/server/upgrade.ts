import { randomBytes } from 'node:crypto';
import { type IncomingHttpHeaders, type IncomingMessage, STATUS_CODES, validateHeaderValue } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import type { Duplex } from 'node:stream';
import type { Span } from '@opentelemetry/api';
import type { Dispatcher } from 'undici';
import { GatewayError, isGatewayError, publicMessage } from '../errors.js';
import { runPhase, runRequestPhases } from '../filters/run-phase.js';
import type { TrafficStats } from '../metrics/gateway-metrics.js';
import type { Origin, OriginAttempt } from '../origins/origin.js';
import type { OriginServer } from '../origins/server.js';
import { clientClosed, isOriginFault } from '../proxy/fault.js';
import { responseHeaders } from '../proxy/headers.js';
import { errorBody, isRetryableFailure, originFailure } from '../proxy/respond.js';
import { normalizeTarget } from '../security/normalize-path.js';
import { requestHeadProblem } from '../security/request-head.js';
import {
  checkSwitchingResponse,
  checkUpgradeRequest,
  type UpgradeVerdict,
  upgradeAllowed,
  WEBSOCKET,
} from '../security/upgrade-policy.js';
import { endOriginSpan, type RequestSpans, startOriginSpan } from '../tracing/spans.js';
import {
  ERROR_NAME,
  failureContext,
  type HandlerState,
  logAccess,
  newContext,
  refusalError,
  routeContext,
} from './handler.js';

const NO_CALL_OPTIONS = {};
/** A refused upgrade's answer from the origin is relayed up to this size (it is an error page, not a stream). */
const MAX_REFUSAL_BYTES = 64 * 1024;

type RawHeaders = Record<string, string | string[] | number>;

/** Writes a whole HTTP/1.1 response on a raw socket and closes it (no upgrade happened). */
function writeRaw(socket: Duplex, status: number, headers: RawHeaders, body: string | Buffer = ''): void {
  if (socket.destroyed) return;
  let head = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Unknown'}\r\n`;
  for (const name in headers) {
    if (name === 'connection' || name === 'content-length' || name === 'transfer-encoding') continue;
    const value = headers[name];
    if (value === undefined) continue;
    for (const item of Array.isArray(value) ? value : [value]) {
      const one = String(item);
      try {
        validateHeaderValue(name, one);
      } catch {
        continue; // never let a filter's CR/LF split the response
      }
      head += `${name}: ${one}\r\n`;
    }
  }
  head += `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n`;
  socket.end(Buffer.concat([Buffer.from(head, 'latin1'), typeof body === 'string' ? Buffer.from(body) : body]));
}

/** The `101 Switching Protocols` head relayed to the client (its token was checked against the request's). */
function switchingHead(headers: IncomingHttpHeaders, token: string): string {
  let head = 'HTTP/1.1 101 Switching Protocols\r\n';
  const clean = responseHeaders(headers);
  for (const name in clean) {
    const value = clean[name] as string | string[];
    for (const one of Array.isArray(value) ? value : [value]) head += `${name}: ${one}\r\n`;
  }
  return `${head}connection: Upgrade\r\nupgrade: ${token}\r\n\r\n`;
}

/**
 * Pipes two sockets into each other: bytes flow both ways with backpressure;
 * an end (FIN) is passed on after the pending bytes; an error or abrupt
 * close on either side destroys the other.
 */
function splice(client: Duplex, upstream: Duplex, onClose: () => void): void {
  let closed = 0;
  const closedOne = () => {
    if (++closed === 2) onClose();
  };
  const link = (from: Duplex, to: Duplex) => {
    from.pipe(to);
    from.on('error', () => to.destroy());
    from.on('close', () => {
      if (!from.readableEnded) to.destroy(); // reset, not a clean end: no half-open tunnel
      closedOne();
    });
  };
  link(client, upstream);
  link(upstream, client);
}

/** One upgrade attempt in the origin's command: settles at the origin's response head (101 or a refusal). */
class UpgradeAttempt implements Dispatcher.DispatchHandler, OriginAttempt {
  readonly #origin: Origin;
  readonly #options: Dispatcher.DispatchOptions;
  readonly #spans: RequestSpans | undefined;
  readonly #exclude: OriginServer | undefined;
  readonly #attempt: number;
  #span: Span | undefined;
  #status: number | undefined;
  server: OriginServer | undefined;
  controller: Dispatcher.DispatchController | undefined;
  /** On 101: the origin's socket and head. */
  upgraded: { socket: Duplex; headers: IncomingHttpHeaders } | undefined;
  /** Otherwise: the origin's answer, relayed as it is. */
  refused: { status: number; headers: IncomingHttpHeaders; chunks: Buffer[]; bytes: number } | undefined;
  #resolve: (() => void) | undefined;
  #reject: ((error: Error) => void) | undefined;
  #settled = false;
  #cancelled: Error | undefined;

  constructor(
    origin: Origin,
    options: Dispatcher.DispatchOptions,
    spans: RequestSpans | undefined,
    exclude: OriginServer | undefined,
    attempt: number,
  ) {
    this.#origin = origin;
    this.#options = options;
    this.#spans = spans;
    this.#exclude = exclude;
    this.#attempt = attempt;
  }

  start(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
      const server = this.#origin.pick(this.#exclude);
      this.server = server;
      const base = server.basePath;
      const options = base ? { ...this.#options, path: `${base}${this.#options.path}` } : this.#options;
      if (this.#spans) {
        const headers = options.headers as Record<string, string | string[]>;
        this.#span = startOriginSpan(
          this.#spans,
          options.method,
          server.url,
          options.path,
          this.#origin.name,
          this.#attempt,
          headers,
        );
      }
      try {
        this.#origin.upgradeDispatcher(server).dispatch(options, this);
      } catch (error) {
        this.#settle(error as Error);
      }
    });
  }

  cancel(reason: Error): void {
    if (this.#cancelled) return;
    this.#cancelled = reason;
    this.controller?.abort(reason);
    this.upgraded?.socket.destroy();
  }

  #settle(error?: Error): void {
    if (this.#settled) return;
    this.#settled = true;
    if (this.#span) endOriginSpan(this.#span, this.#status, error);
    if (error) this.#reject?.(error);
    else this.#resolve?.();
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.#cancelled) controller.abort(this.#cancelled);
  }

  onRequestUpgrade(
    _controller: Dispatcher.DispatchController,
    _status: number,
    headers: IncomingHttpHeaders,
    socket: Duplex,
  ): void {
    if (this.#cancelled) {
      socket.destroy();
      return;
    }
    this.#origin.outlier.record(this.server as OriginServer, false);
    this.#status = 101;
    this.upgraded = { socket, headers };
    this.#settle();
  }

  onResponseStart(_controller: Dispatcher.DispatchController, status: number, headers: IncomingHttpHeaders): void {
    this.#origin.outlier.record(this.server as OriginServer, status === 502 || status === 503 || status === 504);
    this.#status = status;
    this.refused = { status, headers, chunks: [], bytes: 0 };
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    const refused = this.refused;
    if (!refused) return;
    refused.bytes += chunk.length;
    if (refused.bytes > MAX_REFUSAL_BYTES) {
      controller.abort(new Error('refused upgrade answer over 64 KiB'));
      return;
    }
    refused.chunks.push(chunk);
  }

  onResponseEnd(): void {
    this.#settle();
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    if (!this.refused && !this.#cancelled && isOriginFault(error)) {
      this.#origin.outlier.record(this.server as OriginServer, true);
    }
    this.#settle(error);
  }
}

/**
 * The client side of an upgrade: an HTTP/1.1 socket that sent `Upgrade:`, or
 * an HTTP/2 stream that sent an extended CONNECT (RFC 8441). @internal
 */
interface UpgradeClient {
  /** The client's bytes: closed before the tunnel opens, it cancels the origin attempt. */
  readonly stream: Duplex;
  /** Bytes the client sent after its request head (HTTP/1.1 only). */
  readonly head: Buffer;
  /** The status an open tunnel is recorded with (`101`, or `200` on HTTP/2). */
  readonly openStatus: number;
  /** The `Sec-WebSocket-Key` the origin gets (the client's on HTTP/1.1, the gateway's on HTTP/2). */
  readonly key: string | undefined;
  /** Checks the upgrade request itself (token, WebSocket handshake headers) before routing. */
  verdict(req: IncomingMessage): UpgradeVerdict;
  /** Adds what the origin's HTTP/1.1 handshake needs to the upstream headers. */
  prepare(headers: Record<string, string | string[]>): void;
  /** Writes a whole answer (no tunnel) and ends the exchange. */
  answer(status: number, headers: RawHeaders, body: string | Buffer): void;
  /** Confirms the tunnel to the client with the origin's (checked) head. */
  open(headers: IncomingHttpHeaders, token: string): void;
}

/** Headers an HTTP/2 response must not carry (RFC 9113 §8.2.2), or that the gateway sets itself. */
const NOT_ON_H2 = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'te',
  'http2-settings',
  'content-length',
  'sec-websocket-accept',
]);

/** The client side of an HTTP/1.1 upgrade. */
function http1Client(req: IncomingMessage, socket: Duplex, head: Buffer): UpgradeClient {
  const key = req.headers['sec-websocket-key'];
  return {
    stream: socket,
    head,
    openStatus: 101,
    key: typeof key === 'string' ? key : undefined,
    verdict: (request) => checkUpgradeRequest(request.method ?? 'GET', request.headers),
    prepare() {},
    answer: (status, headers, body) => writeRaw(socket, status, headers, body),
    open(headers, token) {
      socket.write(switchingHead(headers, token));
    },
  };
}

/** Response headers for an HTTP/2 client: no connection-specific ones, no CR/LF. */
function h2Headers(headers: RawHeaders | IncomingHttpHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined || NOT_ON_H2.has(name) || name.charCodeAt(0) === 58 /* : */) continue;
    const values = (Array.isArray(value) ? value : [value]).map(String);
    try {
      for (const one of values) validateHeaderValue(name, one);
    } catch {
      continue; // never let a filter's CR/LF through
    }
    out[name] = values.length === 1 ? (values[0] as string) : values;
  }
  return out;
}

/**
 * The client side of an HTTP/2 WebSocket (RFC 8441): the origin gets an
 * HTTP/1.1 handshake with a key of the gateway's; its `101` (with the
 * matching `Sec-WebSocket-Accept`) becomes a `200` on the client's stream.
 */
function http2Client(req: Http2ServerRequest, res: Http2ServerResponse): UpgradeClient {
  const key = randomBytes(16).toString('base64');
  const stream = req.stream;
  return {
    stream,
    head: Buffer.alloc(0),
    openStatus: 200,
    key,
    verdict: () => ({ ok: true, token: WEBSOCKET }), // extendedConnect admits `:protocol: websocket` only
    prepare(headers) {
      headers['sec-websocket-key'] = key;
      headers['sec-websocket-version'] ??= '13';
    },
    answer(status, headers, body) {
      if (res.headersSent || stream.destroyed) return;
      try {
        res.writeHead(status, { ...h2Headers(headers), 'content-length': Buffer.byteLength(body) });
        res.end(body);
      } catch {
        stream.destroy();
      }
    },
    open(headers) {
      res.writeHead(200, h2Headers(responseHeaders(headers)));
    },
  };
}

/**
 * Runs one upgrade: routing and the inbound and endpoint filters, then the
 * origin's HTTP/1.1 handshake inside its resilience command (retried on
 * another server when the connection failed before any answer), then the
 * tunnel (or the answer: a filter's, an error, the origin's refusal).
 */
function runUpgrade(
  state: HandlerState,
  protocol: 'http' | 'https',
  req: IncomingMessage,
  client: UpgradeClient,
): void {
  const runtime = state.runtime;
  const start = performance.now();
  const socket = client.stream;
  socket.on('error', () => socket.destroy());
  if (state.draining) {
    const error = new GatewayError('BACKLOT_GATEWAY_SHUTTING_DOWN', 'the gateway is shutting down');
    const { requestId } = failureContext(req, runtime);
    client.answer(
      error.status,
      { 'content-type': 'application/json', 'x-request-id': requestId },
      errorBody('shutting_down', error.message, requestId),
    );
    return;
  }
  const target = normalizeTarget(req.url ?? '/');
  if (!target.ok) {
    state.metrics.rejected++;
    const { requestId } = failureContext(req, runtime);
    client.answer(
      400,
      { 'content-type': 'application/json', 'x-request-id': requestId },
      errorBody('bad_request', target.reason, requestId),
    );
    return;
  }
  const verdict = client.verdict(req);
  const refusal = verdict.ok ? requestHeadProblem(req, runtime.config.server) : verdict.reason;
  if (!verdict.ok || refusal !== undefined) {
    state.metrics.rejected++;
    const { requestId } = failureContext(req, runtime);
    const error = refusalError(verdict.ok ? (refusal as string) : verdict.reason);
    client.answer(
      error.status,
      { ...error.headers, 'content-type': 'application/json', 'x-request-id': requestId },
      errorBody(ERROR_NAME[error.code] ?? 'error', error.message, requestId),
    );
    return;
  }
  const token = verdict.token;
  const ctx = newContext(runtime, req, target.path, target.query, protocol, start);
  const requestId = ctx.requestId;
  let routeStats: TrafficStats | undefined;
  let originStats: TrafficStats | undefined;
  let attempt: UpgradeAttempt | undefined;
  let status = 0;
  let finished = false;

  const finish = (aborted: boolean) => {
    if (finished) return;
    finished = true;
    const seconds = (performance.now() - start) / 1000;
    if (routeStats) {
      routeStats.inflight--;
      routeStats.record(status, seconds);
    }
    originStats?.record(status, seconds);
    ctx.spans?.end(status, aborted);
    logAccess(state.accessLog, ctx, requestId, status, seconds, aborted);
  };
  // A client that goes away before the tunnel opens cancels the origin's attempt.
  const onEarlyClose = () => {
    attempt?.cancel(clientClosed());
    finish(true);
  };
  socket.once('close', onEarlyClose);

  const answer = (isError: boolean) => {
    const write = () => {
      const response = ctx.response ?? { status: 200, headers: {} };
      if (response.headers['x-request-id'] === undefined) response.headers['x-request-id'] = requestId;
      status = response.status;
      socket.off('close', onEarlyClose);
      socket.once('close', () => finish(false));
      client.answer(response.status, response.headers, ctx.responseBody ?? ctx.localBody ?? '');
    };
    const outbound = (ctx.route ? runtime.chains.get(ctx.route.id) : undefined)?.outbound ?? [];
    try {
      const result = outbound.length ? runPhase('outbound', outbound, ctx, false) : undefined;
      if (result) result.then(write, isError ? write : fail);
      else write();
    } catch (error) {
      if (isError) write();
      else fail(error);
    }
  };

  function fail(error: unknown): void {
    const gatewayError = isGatewayError(error)
      ? error
      : new GatewayError('BACKLOT_GATEWAY_FILTER_FAILED', `filter failed: ${(error as Error)?.message}`, {
          cause: error,
        });
    ctx.failure = gatewayError;
    ctx.respond(
      gatewayError.status,
      errorBody(ERROR_NAME[gatewayError.code] ?? 'error', publicMessage(gatewayError), requestId),
      { ...gatewayError.headers, 'content-type': 'application/json' },
    );
    answer(true);
  }

  const routed = routeContext(state, runtime, ctx, target.raw, req.headers);
  if (!routed || 'refused' in routed) {
    fail(
      routed
        ? new GatewayError('BACKLOT_GATEWAY_BAD_REQUEST', routed.refused)
        : new GatewayError('BACKLOT_GATEWAY_NO_ROUTE', `no route for ${ctx.method} ${ctx.path}`),
    );
    return;
  }
  routeStats = routed.stats;
  const { route, chains } = routed;
  if (!upgradeAllowed(route.config.upgrades, token)) {
    state.metrics.rejected++;
    fail(new GatewayError('BACKLOT_GATEWAY_BAD_REQUEST', `route '${route.id}' does not tunnel '${token}' upgrades`));
    return;
  }

  /** The origin answered `101`: open the tunnel and splice. */
  const tunnel = (origin: Origin, upgraded: { socket: Duplex; headers: IncomingHttpHeaders }) => {
    const upstream = upgraded.socket;
    if (socket.destroyed) {
      upstream.destroy();
      return;
    }
    const refused = checkSwitchingResponse(token, client.key, upgraded.headers);
    if (refused !== undefined) {
      upstream.destroy();
      fail(new GatewayError('BACKLOT_GATEWAY_ORIGIN_ERROR', `origin '${origin.name}' failed: ${refused}`));
      return;
    }
    client.open(upgraded.headers, token);
    status = client.openStatus;
    socket.off('close', onEarlyClose);
    state.tunnels.add(socket);
    if (client.head.length > 0) upstream.write(client.head);
    const idle = route.config.idleTimeoutMs;
    if (idle !== undefined && idle > 0 && 'setTimeout' in socket) {
      (socket as Duplex & { setTimeout(ms: number, cb: () => void): void }).setTimeout(idle, () => socket.destroy());
    }
    splice(socket, upstream, () => {
      state.tunnels.delete(socket);
      finish(false);
    });
  };

  const proxy = (): Promise<void> | undefined => {
    const origin = ctx.origin === undefined ? undefined : runtime.origins.get(ctx.origin);
    if (!origin) {
      fail(new GatewayError('BACKLOT_GATEWAY_NO_ROUTE', `route '${route.id}' has no endpoint`));
      return undefined;
    }
    if (socket.destroyed) return undefined;
    const stats = state.metrics.origin(origin.name);
    originStats = stats;
    client.prepare(ctx.upstreamHeaders);
    const options: Dispatcher.DispatchOptions = {
      path: ctx.upstreamPath,
      method: ctx.method as Dispatcher.HttpMethod,
      headers: ctx.upstreamHeaders,
      upgrade: token,
    };
    // As for requests (Zuul's rule): another server after a connect error or
    // a reset before any answer, within the origin's retry budget.
    const maxAttempts = route.config.retry ? origin.config.retry.maxAttempts : 1;
    const idempotent = ctx.method === 'GET';
    origin.retryBudget.recordCall();
    const run = (number: number, exclude: OriginServer | undefined): Promise<void> => {
      const current = new UpgradeAttempt(origin, options, ctx.spans, exclude, number);
      attempt = current;
      return origin.command.execute(NO_CALL_OPTIONS, current).then(
        () => {
          if (current.refused) {
            const { status: refusedStatus, headers, chunks, bytes } = current.refused;
            ctx.response = { status: refusedStatus, headers: responseHeaders(headers) };
            ctx.responseBody = Buffer.concat(chunks, bytes);
            answer(false);
            return;
          }
          if (current.upgraded) tunnel(origin, current.upgraded);
        },
        (error: unknown) => {
          current.cancel(error instanceof Error ? error : new Error(String(error)));
          if (socket.destroyed) return;
          if (
            number < maxAttempts &&
            current.refused === undefined &&
            origin.servers.length > 0 &&
            isRetryableFailure(error, idempotent) &&
            origin.retryBudget.tryWithdraw()
          ) {
            stats.retries++;
            return run(number + 1, current.server);
          }
          fail(originFailure(error, origin.name, origin.config.circuitBreaker.sleepWindowMs));
        },
      );
    };
    return run(1, undefined);
  };

  runRequestPhases(chains, ctx, () => answer(false), proxy, fail);
}

/** The upgrade listener, and its HTTP/2 counterpart for extended CONNECT streams. @internal */
export interface UpgradeHandler {
  (req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /**
   * Answers an HTTP/2 `CONNECT` (the `connect` event of an HTTP/2 server with
   * `enableConnectProtocol`): `:protocol: websocket` is bridged to the origin
   * as an HTTP/1.1 upgrade; other CONNECTs are refused.
   */
  extendedConnect(req: Http2ServerRequest, res: Http2ServerResponse): void;
}

/**
 * Creates the `upgrade` listener (WebSocket and other `Upgrade:` requests):
 * the request passes routing and the inbound and endpoint filters (auth,
 * rate limits…) like any other; a local or error answer is written on the
 * socket (through the outbound filters). Otherwise the upgrade is sent to the
 * origin inside its resilience command (breaker, timeout to the `101`; a
 * connection that failed before any answer is retried on another server
 * within the origin's retry budget), and on `101 Switching Protocols` both
 * sockets are spliced: bytes stream both ways with backpressure and a close
 * on either side closes the other. An origin that refuses the upgrade has its
 * answer relayed.
 *
 * Its `extendedConnect` does the same for WebSockets over HTTP/2 (RFC 8441):
 * the stream of a `CONNECT` with `:protocol: websocket` is routed and
 * filtered as a `GET` with `Upgrade: websocket`, the origin gets an HTTP/1.1
 * upgrade, and its `101` becomes a `200` on the stream.
 */
export function createUpgradeHandler(state: HandlerState, protocol: 'http' | 'https'): UpgradeHandler {
  const upgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void =>
    runUpgrade(state, protocol, req, http1Client(req, socket, head));
  const extendedConnect = (req: Http2ServerRequest, res: Http2ServerResponse): void => {
    const wanted = req.headers[':protocol'];
    if (wanted !== 'websocket') {
      const { requestId } = failureContext(req as unknown as IncomingMessage, state.runtime);
      const [status, name, message] =
        wanted === undefined
          ? [405, 'method_not_allowed', 'the gateway is not a CONNECT proxy']
          : [501, 'not_implemented', `extended CONNECT for '${String(wanted)}' is not supported (only websocket)`];
      http2Client(req, res).answer(
        status,
        { 'content-type': 'application/json', 'x-request-id': requestId },
        errorBody(name, message, requestId),
      );
      return;
    }
    // Routed, filtered and forwarded as the HTTP/1.1 equivalent: GET with Host and Upgrade: websocket.
    const headers = { ...req.headers, upgrade: 'websocket' };
    if (headers.host === undefined && headers[':authority'] !== undefined) headers.host = headers[':authority'];
    const view: IncomingMessage = Object.create(req, {
      method: { value: 'GET', enumerable: true },
      headers: { value: headers, enumerable: true },
    });
    runUpgrade(state, protocol, view, http2Client(req, res));
  };
  return Object.assign(upgrade, { extendedConnect });
}
