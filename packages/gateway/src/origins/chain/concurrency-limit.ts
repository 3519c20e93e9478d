import { type IsolationPolicy, isRejectedError, type Permit } from '@backlot/resilience';
import type { Dispatcher } from 'undici';
import { dispatchBelow, refuse } from './detached-controller.js';
import { ForwardingHandler } from './forwarding-handler.js';
import { type OriginCall, originCall } from './origin-call.js';

/** Holds the attempt's slot until its answer (a latency sample) or its failure before one. */
class LimitHandler extends ForwardingHandler {
  readonly #policy: IsolationPolicy;
  readonly #permit: Permit;

  constructor(next: Dispatcher.DispatchHandler, policy: IsolationPolicy, permit: Permit, call: OriginCall | undefined) {
    super(next, call);
    this.#policy = policy;
    this.#permit = permit;
  }

  protected override answer(statusCode: number): boolean {
    if (!this.answered) this.#policy.release(this.#permit);
    return super.answer(statusCode);
  }

  protected override failed(controller: Dispatcher.DispatchController, error: Error): void {
    if (!this.answered) this.#policy.release(this.#permit, error);
    this.next.onResponseError?.(controller, error);
  }
}

/**
 * The origin's concurrency limit as an interceptor: its fixed bulkhead or
 * adaptive limit (`concurrencyLimit` in config). An attempt over it fails
 * with a `RejectedError` before anything below sees it; an admitted one
 * holds its slot until its answer or its failure (a timeout is a drop, a
 * sign of overload, for an adaptive limit).
 */
export function concurrencyLimit(policy: IsolationPolicy): Dispatcher.DispatcherComposeInterceptor {
  return (dispatch) => (options, handler) => {
    const permit = policy.acquire();
    if (isRejectedError(permit)) return refuse(handler, permit);
    return dispatchBelow(dispatch, options, new LimitHandler(handler, policy, permit, originCall(options)));
  };
}
