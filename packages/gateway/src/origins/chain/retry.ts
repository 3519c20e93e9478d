import type { RetryBudget } from '@backlot/resilience';
import type { Dispatcher } from 'undici';
import { isRetryableFailure } from '../../proxy/respond.js';
import { ForwardingHandler } from './forwarding-handler.js';
import { exchangeCall, type OriginCall, originCall } from './origin-call.js';

/** What the retry interceptor reads from its origin. */
export interface RetryingOrigin {
  /** Retries spend from this budget (shared by the origin's requests). */
  readonly retryBudget: RetryBudget;
  /** How many servers there are to retry on. */
  readonly servers: readonly unknown[];
}

/** Retries an attempt that failed before any answer, on another server, per Zuul's rule. */
class RetryHandler extends ForwardingHandler {
  readonly #dispatch: Dispatcher.Dispatch;
  readonly #options: Dispatcher.DispatchOptions;
  readonly #call: OriginCall;
  readonly #origin: RetryingOrigin;

  constructor(
    next: Dispatcher.DispatchHandler,
    dispatch: Dispatcher.Dispatch,
    options: Dispatcher.DispatchOptions,
    call: OriginCall,
    origin: RetryingOrigin,
  ) {
    super(next);
    this.#dispatch = dispatch;
    this.#options = options;
    this.#call = call;
    this.#origin = origin;
  }

  protected override failed(controller: Dispatcher.DispatchController, error: Error): void {
    const call = this.#call;
    const origin = this.#origin;
    if (
      !this.answered &&
      call.attempt < call.maxAttempts &&
      origin.servers.length > 0 &&
      isRetryableFailure(error, call.idempotent) &&
      origin.retryBudget.tryWithdraw()
    ) {
      const own = exchangeCall(call);
      if (own) own.stats.retries++;
      call.attempt++;
      call.exclude = call.server;
      queueMicrotask(() => {
        const cancelled = own?.cancelled;
        if (cancelled) {
          this.next.onResponseError?.(controller, cancelled); // the exchange gave up meanwhile: no new attempt
          return;
        }
        try {
          this.#dispatch(this.#options, this);
        } catch (thrown) {
          this.next.onResponseError?.(controller, thrown as Error);
        }
      });
      return;
    }
    this.next.onResponseError?.(controller, error);
  }
}

/**
 * Zuul's retry rule as an interceptor: an attempt that failed before any
 * answer (connect error, reset; a timeout for idempotent methods) is sent
 * again on another server, up to the call's {@link OriginCall.maxAttempts},
 * within the origin's retry budget. Circuit-open, shed and client-caused
 * failures are never retried. Calls without an {@link OriginCall} or with
 * one attempt pass straight through.
 */
export function retry(origin: RetryingOrigin): Dispatcher.DispatcherComposeInterceptor {
  return (dispatch) => (options, handler) => {
    const call = originCall(options);
    if (!call) return dispatch(options, handler);
    origin.retryBudget.recordCall();
    if (call.maxAttempts <= 1) return dispatch(options, handler);
    return dispatch(options, new RetryHandler(handler, dispatch, options, call, origin));
  };
}
