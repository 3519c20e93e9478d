import type { IncomingHttpHeaders } from 'node:http';
import type { Span } from '@opentelemetry/api';
import { Dispatcher } from 'undici';
import { endOriginSpan, startOriginSpan } from '../../tracing/spans.js';
import type { OriginServer } from '../server.js';
import { DetachedController } from './detached-controller.js';
import { ForwardingHandler } from './forwarding-handler.js';
import { type ExchangeOriginCall, exchangeCall, originCall } from './origin-call.js';

/** What the balancer needs from its origin. */
export interface BalancedOrigin {
  readonly name: string;
  /** Picks a server, other than `exclude` when there is a choice. */
  pick(exclude?: OriginServer): OriginServer;
  /** The dispatcher an `Upgrade:` request to `server` goes through (an HTTP/1.1 one). */
  upgradeDispatcher(server: OriginServer): Dispatcher;
}

/** One attempt on one server: its outstanding count, the origin's in-flight attempts and its client span. */
class ServerAttempt extends ForwardingHandler {
  readonly #server: OriginServer;
  readonly #call: ExchangeOriginCall | undefined;
  readonly #span: Span | undefined;
  #status: number | undefined;
  #done = false;

  constructor(
    next: Dispatcher.DispatchHandler,
    server: OriginServer,
    call: ExchangeOriginCall | undefined,
    span: Span | undefined,
  ) {
    super(next);
    this.#server = server;
    this.#call = call;
    this.#span = span;
    server.outstanding++;
    if (call) call.stats.inflight++;
  }

  finish(error?: unknown): void {
    if (this.#done) return;
    this.#done = true;
    if (this.#span) endOriginSpan(this.#span, this.#status, error);
    this.#server.outstanding--;
    if (this.#call) this.#call.stats.inflight--;
  }

  protected override answer(statusCode: number): boolean {
    this.#status = statusCode;
    if (statusCode === 101) this.finish(); // the handshake is over; an open tunnel is not an attempt in flight
    return super.answer(statusCode);
  }

  override onResponseEnd(controller: Dispatcher.DispatchController, trailers: IncomingHttpHeaders): void {
    this.finish();
    this.next.onResponseEnd?.(controller, trailers);
  }

  protected override failed(controller: Dispatcher.DispatchController, error: Error): void {
    this.finish(error);
    this.next.onResponseError?.(controller, error);
  }
}

/**
 * The innermost dispatcher of an origin's chain: picks a server with the
 * origin's balancer (avoiding the {@link OriginCall.exclude} one when there
 * is a choice), notes it on the call, and dispatches to that server's pool
 * (an HTTP/1.1 one for upgrades) under the server's base path.
 */
export class BalancerDispatcher extends Dispatcher {
  readonly #origin: BalancedOrigin;

  constructor(origin: BalancedOrigin) {
    super();
    this.#origin = origin;
  }

  override dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    const call = originCall(options);
    const own = exchangeCall(call);
    const origin = this.#origin;
    const server = origin.pick(call?.exclude);
    if (call) call.server = server;
    const sent = server.basePath ? { ...options, path: `${server.basePath}${options.path}` } : options;
    const span = own?.spans
      ? startOriginSpan(
          own.spans,
          sent.method,
          server.url,
          sent.path,
          origin.name,
          own.attempt,
          sent.headers as Record<string, string | string[]>,
        )
      : undefined;
    const attempt = new ServerAttempt(handler, server, own, span);
    try {
      return (sent.upgrade ? origin.upgradeDispatcher(server) : server.pool).dispatch(sent, attempt);
    } catch (error) {
      attempt.onResponseError(new DetachedController(error as Error), error as Error);
      return false;
    }
  }
}
