import type { BreakerPolicy } from '@backlot/resilience';
import type { Dispatcher } from 'undici';
import { dispatchBelow, refuse } from './detached-controller.js';
import { ForwardingHandler } from './forwarding-handler.js';
import { type OriginCall, originCall } from './origin-call.js';

/** Tells the breaker how an admitted attempt ended: at its answer, or at a failure before one. */
class BreakerHandler extends ForwardingHandler {
  readonly #policy: BreakerPolicy;

  constructor(next: Dispatcher.DispatchHandler, policy: BreakerPolicy, call: OriginCall | undefined) {
    super(next, call);
    this.#policy = policy;
  }

  protected override answer(statusCode: number): boolean {
    if (!this.answered) this.#policy.record();
    return super.answer(statusCode);
  }

  protected override failed(controller: Dispatcher.DispatchController, error: Error): void {
    if (!this.answered) this.#policy.record(error);
    this.next.onResponseError?.(controller, error);
  }
}

/**
 * The origin's circuit breaker as an interceptor: while the circuit is open
 * an attempt fails with a `CircuitOpenError` before anything below sees it
 * (half-open: one trial goes through). An admitted attempt's outcome is the
 * circuit's health sample: an answer (any status) is a success; a timeout
 * or a rejection from the steps below, or an origin fault before the
 * answer, a failure; a client fault is neutral (the policies' `isBadRequest`).
 */
export function breaker(policy: BreakerPolicy): Dispatcher.DispatcherComposeInterceptor {
  return (dispatch) => (options, handler) => {
    const refused = policy.admit();
    if (refused) return refuse(handler, refused);
    return dispatchBelow(dispatch, options, new BreakerHandler(handler, policy, originCall(options)));
  };
}
