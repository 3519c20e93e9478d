import type { Dispatcher } from 'undici';
import { isOriginFault } from '../../proxy/fault.js';
import type { OutlierDetector } from '../outlier/outlier-detector.js';
import { ForwardingHandler } from './forwarding-handler.js';
import { type OriginCall, originCall } from './origin-call.js';

/** Records each attempt's outcome for the server it went to. */
class OutlierHandler extends ForwardingHandler {
  readonly #detector: OutlierDetector;
  readonly #call: OriginCall;

  constructor(next: Dispatcher.DispatchHandler, detector: OutlierDetector, call: OriginCall) {
    super(next);
    this.#detector = detector;
    this.#call = call;
  }

  #record(failed: boolean): void {
    const server = this.#call.server;
    if (server) this.#detector.record(server, failed);
  }

  protected override answer(statusCode: number): boolean {
    this.#record(statusCode === 502 || statusCode === 503 || statusCode === 504);
    return super.answer(statusCode);
  }

  protected override failed(controller: Dispatcher.DispatchController, error: Error): void {
    // Only what the origin did before answering counts (a body the client aborted or sent too slowly does not).
    if (!this.answered && isOriginFault(error)) this.#record(true);
    this.next.onResponseError?.(controller, error);
  }
}

/**
 * Passive outlier detection as an interceptor: each attempt's outcome
 * (an answer, a 502/503/504, a connect error, reset or timeout before any
 * answer) is recorded for the server the balancer picked, which the
 * detector ejects after consecutive failures.
 */
export function outlierDetection(detector: OutlierDetector): Dispatcher.DispatcherComposeInterceptor {
  return (dispatch) => (options, handler) => {
    const call = originCall(options);
    return dispatch(options, call ? new OutlierHandler(handler, detector, call) : handler);
  };
}
