import type { IncomingHttpHeaders } from 'node:http';
import type { TimedExecution, TimeoutError, TimeoutListener, TimeoutPolicy } from '@backlot/resilience';
import type { Dispatcher } from 'undici';
import { DetachedController, dispatchBelow } from './detached-controller.js';
import { ForwardingHandler } from './forwarding-handler.js';
import { type OriginCall, originCall } from './origin-call.js';

/** One timed attempt: the policy's deadline is carried out here (the attempt aborted, its late events dropped). */
class TimeoutHandler extends ForwardingHandler implements TimeoutListener {
  readonly #execution: TimedExecution;
  #expired: TimeoutError | undefined;

  constructor(next: Dispatcher.DispatchHandler, policy: TimeoutPolicy, call: OriginCall | undefined) {
    super(next, call);
    this.#execution = policy.start(this);
  }

  onTimeout(error: TimeoutError): void {
    this.#expired = error;
    this.settled = true;
    const controller = this.controller;
    controller?.abort(error);
    this.next.onResponseError?.(controller ?? new DetachedController(error), error);
  }

  override onRequestStart(controller: Dispatcher.DispatchController, context: unknown): void {
    this.controller = controller;
    if (this.#expired) controller.abort(this.#expired);
    else this.next.onRequestStart?.(controller, context);
  }

  protected override answer(statusCode: number): boolean {
    if (this.#expired) return false;
    this.#execution.succeeded();
    return super.answer(statusCode);
  }

  override onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (!this.#expired) this.next.onResponseData?.(controller, chunk);
  }

  override onResponseEnd(controller: Dispatcher.DispatchController, trailers: IncomingHttpHeaders): void {
    if (!this.#expired) this.next.onResponseEnd?.(controller, trailers);
  }

  protected override failed(controller: Dispatcher.DispatchController, error: Error): void {
    if (this.#expired) return;
    if (!this.answered) this.#execution.failed(error);
    this.next.onResponseError?.(controller, error);
  }
}

/**
 * The origin's timeout as an interceptor (`timeoutMs`, per attempt, to the
 * answer's head or the `101` of an upgrade): past it, the attempt is aborted
 * and fails with a `TimeoutError` (a `504`; a failure for the breaker above,
 * a drop for the concurrency limit). It is the origin command's timed
 * execution: each attempt through it is counted in the command's metrics
 * (success, failure or bad request, timeout) with its latency.
 */
export function timeout(policy: TimeoutPolicy): Dispatcher.DispatcherComposeInterceptor {
  return (dispatch) => (options, handler) =>
    dispatchBelow(dispatch, options, new TimeoutHandler(handler, policy, originCall(options)));
}
