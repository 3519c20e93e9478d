import type { IncomingHttpHeaders } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Span } from '@opentelemetry/api';
import type { Dispatcher } from 'undici';
import type { RequestContext } from '../filters/request-context.js';
import type { TrafficStats } from '../metrics/gateway-metrics.js';
import type { Origin, OriginAttempt } from '../origins/origin.js';
import type { OriginServer } from '../origins/server.js';
import { clientClosed, isOriginFault } from '../proxy/fault.js';
import { endOriginSpan, startOriginSpan } from '../tracing/spans.js';
import type { ResponseWriter } from './response-writer.js';

/** A request body as an attempt sends it. @internal */
export type OutboundBody = Buffer | AsyncIterable<Buffer> | NodeJS.ReadableStream | null;

/** What every attempt of one exchange sends, and where the answer goes. @internal */
export interface AttemptPlan {
  readonly ctx: RequestContext;
  readonly origin: Origin;
  readonly stats: TrafficStats;
  readonly writer: ResponseWriter;
  readonly body: OutboundBody;
  /** The `Upgrade` token for an upgrade (sent on an HTTP/1.1 connection), `undefined` for a request. */
  readonly upgrade: string | undefined;
  readonly headersTimeout: number | undefined;
  readonly bodyTimeout: number;
}

/**
 * One attempt at an origin server: an undici dispatch handler that settles
 * the origin's command at the response head (or the `101` of an upgrade),
 * then hands the response to the exchange's {@link ResponseWriter}. @internal
 */
export class OriginAttemptHandler implements Dispatcher.DispatchHandler, OriginAttempt {
  readonly #plan: AttemptPlan;
  readonly #exclude: OriginServer | undefined;
  readonly #number: number;
  /** The server this attempt went to. */
  server: OriginServer | undefined;
  #span: Span | undefined;
  #status: number | undefined;
  #controller: Dispatcher.DispatchController | undefined;
  #resolve: (() => void) | undefined;
  #reject: ((error: Error) => void) | undefined;
  #started = false;
  #done = false;
  #cancelled: Error | undefined;

  constructor(plan: AttemptPlan, exclude: OriginServer | undefined, number: number) {
    this.#plan = plan;
    this.#exclude = exclude;
    this.#number = number;
  }

  start(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
      const plan = this.#plan;
      const { ctx, origin } = plan;
      const server = origin.pick(this.#exclude);
      this.server = server;
      server.outstanding++;
      plan.stats.inflight++;
      const options: Dispatcher.DispatchOptions = {
        path: server.basePath ? `${server.basePath}${ctx.upstreamPath}` : ctx.upstreamPath,
        method: ctx.method as Dispatcher.HttpMethod,
        headers: ctx.upstreamHeaders,
        body: plan.body as Buffer | null,
        bodyTimeout: plan.bodyTimeout,
      };
      if (plan.headersTimeout !== undefined) options.headersTimeout = plan.headersTimeout;
      if (plan.upgrade !== undefined) options.upgrade = plan.upgrade;
      if (ctx.spans) {
        this.#span = startOriginSpan(
          ctx.spans,
          ctx.method,
          server.url,
          options.path,
          origin.name,
          this.#number,
          ctx.upstreamHeaders,
        );
      }
      try {
        (plan.upgrade === undefined ? server.pool : origin.upgradeDispatcher(server)).dispatch(options, this);
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
    this.#plan.stats.inflight--;
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    if (this.#cancelled) controller.abort(this.#cancelled);
    else if (this.#plan.writer.clientGone) controller.abort(clientClosed());
  }

  onRequestUpgrade(
    _controller: Dispatcher.DispatchController,
    _status: number,
    headers: IncomingHttpHeaders,
    socket: Duplex,
  ): void {
    if (this.#cancelled || this.#started) {
      socket.destroy();
      return;
    }
    this.#started = true;
    this.#status = 101;
    this.#plan.origin.outlier.record(this.server as OriginServer, false);
    this.#finish(); // the handshake is over; the tunnel is the exchange's, not the origin's in-flight
    this.#resolve?.();
    this.#plan.writer.onUpgrade(socket, headers);
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders): void {
    if (this.#cancelled || this.#started) return;
    this.#started = true;
    this.#status = statusCode;
    const plan = this.#plan;
    plan.origin.outlier.record(
      this.server as OriginServer,
      statusCode === 502 || statusCode === 503 || statusCode === 504,
    );
    this.#resolve?.();
    plan.writer.onHead(controller, statusCode, headers);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (!this.#cancelled) this.#plan.writer.onData(controller, chunk);
  }

  onResponseEnd(): void {
    this.#finish();
    if (!this.#cancelled) this.#plan.writer.onEnd();
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    this.#finish(error);
    if (!this.#started) {
      // Only what the origin did counts toward its health (a body the client aborted or sent too slowly does not).
      if (!this.#cancelled && !this.#plan.writer.clientGone && isOriginFault(error)) {
        this.#plan.origin.outlier.record(this.server as OriginServer, true);
      }
      this.#reject?.(error);
      return;
    }
    this.#plan.writer.onBodyError(error);
  }
}
