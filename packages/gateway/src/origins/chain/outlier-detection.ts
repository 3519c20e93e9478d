import type { IncomingHttpHeaders } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Dispatcher } from 'undici';
import { isOriginFault } from '../../proxy/fault.js';
import type { OutlierDetector } from '../outlier/outlier-detector.js';
import { ForwardingHandler } from './forwarding-handler.js';
import { type OriginCall, originCall } from './origin-call.js';

/** Records each attempt's outcome for the server it went to. */
class OutlierHandler extends ForwardingHandler {
  readonly #detector: OutlierDetector;
  readonly #call: OriginCall;
  #started = false;

  constructor(next: Dispatcher.DispatchHandler, detector: OutlierDetector, call: OriginCall) {
    super(next);
    this.#detector = detector;
    this.#call = call;
  }

  #record(failed: boolean): void {
    const server = this.#call.server;
    if (server) this.#detector.record(server, failed);
  }

  override onRequestUpgrade(
    controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: IncomingHttpHeaders,
    socket: Duplex,
  ): void {
    this.#started = true;
    this.#record(false);
    this.next.onRequestUpgrade?.(controller, statusCode, headers, socket);
  }

  override onResponseStart(
    controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: IncomingHttpHeaders,
    statusMessage?: string,
  ): void {
    this.#started = true;
    this.#record(statusCode === 502 || statusCode === 503 || statusCode === 504);
    this.next.onResponseStart?.(controller, statusCode, headers, statusMessage);
  }

  override onResponseError(controller: Dispatcher.DispatchController, error: Error): void {
    // Only what the origin did before answering counts (a body the client aborted or sent too slowly does not).
    if (!this.#started && isOriginFault(error)) this.#record(true);
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
