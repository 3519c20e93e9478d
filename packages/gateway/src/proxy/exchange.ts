import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import type { Span } from '@opentelemetry/api';
import type { Dispatcher } from 'undici';
import type { GatewayError } from '../errors.js';
import { GatewayError as GatewayErrorClass } from '../errors.js';
import type { Filter } from '../filters/filter.js';
import type { RequestContext } from '../filters/request-context.js';
import { runPhase } from '../filters/run-phase.js';
import type { TrafficStats } from '../metrics/gateway-metrics.js';
import type { Origin, OriginAttempt } from '../origins/origin.js';
import type { OriginServer } from '../origins/server.js';
import { endOriginSpan, startOriginSpan } from '../tracing/spans.js';
import { clientClosed, isOriginFault } from './fault.js';
import { responseHeaders } from './headers.js';
import { isRetryableFailure, originFailure } from './respond.js';

/** A request body as the exchange sends it. @internal */
export type ExchangeBody = Buffer | AsyncIterable<Buffer> | NodeJS.ReadableStream | null;

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);
const NO_CALL_OPTIONS = {};

/** What an exchange reports when it is over. */
export interface ExchangeHooks {
  /** Writes an error response (before any byte was sent). */
  fail(error: GatewayError): void;
  /** Whether the gateway is draining (the response then closes its connection). */
  draining(): boolean;
}

/**
 * One proxied request: attempts (each in the origin's resilience command),
 * retries per Zuul's rule within the origin's retry budget, then the response
 * streamed to the client with backpressure, through the outbound filters.
 */
export class Exchange {
  readonly ctx: RequestContext;
  readonly res: ServerResponse;
  readonly origin: Origin;
  readonly outbound: readonly Filter[];
  readonly originStats: TrafficStats;
  readonly #hooks: ExchangeHooks;
  readonly #body: ExchangeBody;
  readonly #replayable: boolean;
  readonly #headersTimeout: number | undefined;
  readonly #bodyTimeout: number;
  readonly #bufferMax: number | undefined;
  readonly #retryEnabled: boolean;
  /** @internal */ current: AttemptHandler | undefined;
  /** @internal */ clientGone = false;
  /** @internal */ headWritten = false;
  #pending: Buffer[] | undefined;
  #ended = false;
  #buffer: Buffer[] | undefined;
  #bufferBytes = 0;
  #failed = false;

  constructor(
    ctx: RequestContext,
    res: ServerResponse,
    origin: Origin,
    outbound: readonly Filter[],
    originStats: TrafficStats,
    body: ExchangeBody,
    replayable: boolean,
    hooks: ExchangeHooks,
  ) {
    this.ctx = ctx;
    this.res = res;
    this.origin = origin;
    this.outbound = outbound;
    this.originStats = originStats;
    this.#body = body;
    this.#replayable = replayable;
    this.#hooks = hooks;
    const route = ctx.route?.config;
    this.#headersTimeout = route?.timeoutMs;
    this.#bodyTimeout = route?.idleTimeoutMs ?? origin.config.bodyTimeoutMs;
    this.#bufferMax = route?.bufferResponse?.maxBytes;
    this.#retryEnabled = route?.retry ?? true;
  }

  /** Runs the attempts; resolves once the response head is out (or an error was answered). */
  async run(): Promise<void> {
    const { origin } = this;
    const maxAttempts = this.#retryEnabled && this.#replayable ? origin.config.retry.maxAttempts : 1;
    const idempotent = IDEMPOTENT.has(this.ctx.method);
    origin.retryBudget.recordCall();
    let exclude: OriginServer | undefined;
    for (let attempt = 1; ; attempt++) {
      const handler = new AttemptHandler(this, exclude, attempt);
      this.current = handler;
      try {
        await origin.command.execute(NO_CALL_OPTIONS, handler);
        return;
      } catch (error) {
        handler.cancel(error);
        if (this.clientGone) return;
        if (
          attempt < maxAttempts &&
          origin.servers.length > 0 &&
          isRetryableFailure(error, idempotent) &&
          origin.retryBudget.tryWithdraw()
        ) {
          this.originStats.retries++;
          exclude = handler.server;
          continue;
        }
        this.#hooks.fail(originFailure(error, origin.name, origin.config.circuitBreaker.sleepWindowMs));
        return;
      }
    }
  }

  /** @internal */
  dispatchOptions(server: OriginServer): Dispatcher.DispatchOptions {
    const ctx = this.ctx;
    const options: Dispatcher.DispatchOptions = {
      path: server.basePath ? `${server.basePath}${ctx.upstreamPath}` : ctx.upstreamPath,
      method: ctx.method as Dispatcher.HttpMethod,
      headers: ctx.upstreamHeaders,
      body: this.#body as Buffer | null,
      bodyTimeout: this.#bodyTimeout,
    };
    if (this.#headersTimeout !== undefined) options.headersTimeout = this.#headersTimeout;
    return options;
  }

  /** @internal the origin's response head. */
  onHead(controller: Dispatcher.DispatchController, status: number, headers: IncomingHttpHeaders): void {
    const ctx = this.ctx;
    const clean = responseHeaders(headers);
    if (status === 204) delete clean['content-length']; // RFC 9110 §8.6: never on a 204
    ctx.response = { status, headers: clean };
    if (this.#bufferMax !== undefined) {
      this.#buffer = [];
      return;
    }
    const result = this.outbound.length ? runPhase('outbound', this.outbound, ctx, false) : undefined;
    if (result) {
      this.#pending = [];
      controller.pause();
      result.then(
        () => {
          this.#writeHead();
          const pending = this.#pending ?? [];
          this.#pending = undefined;
          for (const chunk of pending) this.res.write(chunk);
          if (this.#ended) this.res.end();
          else controller.resume();
        },
        (error: unknown) => {
          controller.abort(error as Error);
          this.#failAfterHead(error);
        },
      );
      return;
    }
    this.#writeHead();
  }

  #writeHead(): void {
    const res = this.res;
    if (res.destroyed) return;
    const head = this.ctx.response;
    if (!head) return;
    this.headWritten = true;
    if (this.#hooks.draining() && this.ctx.req.httpVersionMajor < 2) head.headers.connection = 'close';
    res.writeHead(head.status, head.headers);
  }

  /** @internal a chunk of the origin's body. */
  onData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    const res = this.res;
    if (this.clientGone || res.destroyed) {
      controller.abort(new Error('client went away'));
      return;
    }
    if (this.#buffer) {
      this.#bufferBytes += chunk.length;
      if (this.#bufferBytes > (this.#bufferMax as number)) {
        this.#buffer = undefined;
        this.#failed = true;
        controller.abort(new Error('response over bufferResponse.maxBytes'));
        this.#hooks.fail(
          new GatewayErrorClass(
            'BACKLOT_GATEWAY_RESPONSE_TOO_LARGE',
            `origin '${this.origin.name}' response is over bufferResponse.maxBytes (${this.#bufferMax})`,
          ),
        );
        return;
      }
      this.#buffer.push(chunk);
      return;
    }
    if (this.#pending) {
      this.#pending.push(chunk);
      return;
    }
    if (!res.write(chunk)) {
      controller.pause();
      res.once('drain', () => controller.resume());
    }
  }

  /** @internal the origin's body ended. */
  onEnd(): void {
    if (this.#buffer) {
      const body = Buffer.concat(this.#buffer, this.#bufferBytes);
      this.#buffer = undefined;
      this.#finishBuffered(body);
      return;
    }
    if (this.#pending) {
      this.#ended = true;
      return;
    }
    if (!this.res.destroyed) this.res.end();
  }

  #finishBuffered(body: Buffer): void {
    const ctx = this.ctx;
    ctx.responseBody = body;
    const write = () => {
      const head = ctx.response;
      if (!head || this.res.destroyed) return;
      const out = ctx.responseBody ?? Buffer.alloc(0);
      delete head.headers['transfer-encoding'];
      head.headers['content-length'] = out.length;
      this.headWritten = true;
      this.res.writeHead(head.status, head.headers);
      this.res.end(out);
    };
    const result = this.outbound.length ? runPhase('outbound', this.outbound, ctx, false) : undefined;
    if (result) result.then(write, (error: unknown) => this.#failAfterHead(error));
    else write();
  }

  #failAfterHead(error: unknown): void {
    if (this.headWritten || this.res.headersSent) {
      this.res.destroy(error as Error);
      return;
    }
    this.#hooks.fail(
      new GatewayErrorClass('BACKLOT_GATEWAY_FILTER_FAILED', `outbound filter failed: ${(error as Error).message}`, {
        cause: error,
      }),
    );
  }

  /** @internal the origin failed after its response head. */
  onBodyError(error: Error): void {
    if (this.#failed) return;
    if (this.#buffer) {
      this.#buffer = undefined;
      this.#hooks.fail(originFailure(error, this.origin.name, 0));
      return;
    }
    if (!this.res.destroyed) this.res.destroy(error);
  }

  /** @internal the client went away: abort the origin request, queued or in flight. */
  abort(): void {
    this.clientGone = true;
    this.current?.cancel(clientClosed());
  }
}

/** One attempt: an undici dispatch handler that settles the command at the response head. */
class AttemptHandler implements Dispatcher.DispatchHandler, OriginAttempt {
  readonly #exchange: Exchange;
  readonly #exclude: OriginServer | undefined;
  readonly #attempt: number;
  server: OriginServer | undefined;
  #span: Span | undefined;
  #status: number | undefined;
  #controller: Dispatcher.DispatchController | undefined;
  #resolve: (() => void) | undefined;
  #reject: ((error: Error) => void) | undefined;
  #started = false;
  #done = false;
  #cancelled: Error | undefined;

  constructor(exchange: Exchange, exclude: OriginServer | undefined, attempt: number) {
    this.#exchange = exchange;
    this.#exclude = exclude;
    this.#attempt = attempt;
  }

  start(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
      const exchange = this.#exchange;
      const server = exchange.origin.pick(this.#exclude);
      this.server = server;
      server.outstanding++;
      exchange.originStats.inflight++;
      const options = exchange.dispatchOptions(server);
      const spans = exchange.ctx.spans;
      if (spans) {
        const { ctx, origin } = exchange;
        this.#span = startOriginSpan(
          spans,
          ctx.method,
          server.url,
          options.path,
          origin.name,
          this.#attempt,
          ctx.upstreamHeaders,
        );
      }
      try {
        server.pool.dispatch(options, this);
      } catch (error) {
        this.#finish(error);
        reject(error as Error);
      }
    });
  }

  /** Aborts this attempt (timeout, client gone, or given up). */
  cancel(reason: unknown): void {
    if (this.#done) return;
    this.#cancelled = reason instanceof Error ? reason : new Error(String(reason));
    this.#controller?.abort(this.#cancelled);
  }

  #finish(error?: unknown): void {
    if (this.#done) return;
    this.#done = true;
    if (this.#span) endOriginSpan(this.#span, this.#status, error);
    if (this.server) this.server.outstanding--;
    this.#exchange.originStats.inflight--;
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    if (this.#cancelled) controller.abort(this.#cancelled);
    else if (this.#exchange.clientGone) controller.abort(clientClosed());
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders): void {
    if (this.#cancelled || this.#started) return;
    this.#started = true;
    this.#status = statusCode;
    const exchange = this.#exchange;
    exchange.origin.outlier.record(
      this.server as OriginServer,
      statusCode === 502 || statusCode === 503 || statusCode === 504,
    );
    this.#resolve?.();
    exchange.onHead(controller, statusCode, headers);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (!this.#cancelled) this.#exchange.onData(controller, chunk);
  }

  onResponseEnd(): void {
    this.#finish();
    if (!this.#cancelled) this.#exchange.onEnd();
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    this.#finish(error);
    if (!this.#started) {
      // Only what the origin did counts toward its health (a body the client aborted or sent too slowly does not).
      if (!this.#cancelled && !this.#exchange.clientGone && isOriginFault(error)) {
        this.#exchange.origin.outlier.record(this.server as OriginServer, true);
      }
      this.#reject?.(error);
      return;
    }
    this.#exchange.onBodyError(error);
  }
}
