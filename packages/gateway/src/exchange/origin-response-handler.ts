import type { IncomingHttpHeaders } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { Origin } from '../origins/origin.js';
import { clientClosed } from '../proxy/fault.js';
import { originFailure } from '../proxy/respond.js';
import type { ResponseWriter } from './response-writer.js';

/**
 * The exchange's end of an origin's chain: the handler its request is
 * dispatched with. It hands the origin's answer (head, body, or the `101`
 * of an upgrade) to the exchange's {@link ResponseWriter}, answers the
 * chain's final failure (after its retries) as a gateway error, and aborts
 * the attempt in flight when the client goes away. @internal
 */
export class OriginResponseHandler implements Dispatcher.DispatchHandler {
  readonly #writer: ResponseWriter;
  readonly #origin: Origin;
  #controller: Dispatcher.DispatchController | undefined;
  #cancelled: Error | undefined;
  #started = false;

  constructor(writer: ResponseWriter, origin: Origin) {
    this.#writer = writer;
    this.#origin = origin;
  }

  /** Aborts the attempt in flight, and any the chain would start after it. */
  cancel(reason: Error): void {
    if (this.#cancelled) return;
    this.#cancelled = reason;
    this.#controller?.abort(reason);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    if (this.#cancelled) controller.abort(this.#cancelled);
    else if (this.#writer.clientGone) controller.abort(clientClosed());
  }

  onRequestUpgrade(
    _controller: Dispatcher.DispatchController,
    _statusCode: number,
    headers: IncomingHttpHeaders,
    socket: Duplex,
  ): void {
    if (this.#cancelled || this.#started) {
      socket.destroy();
      return;
    }
    this.#started = true;
    this.#writer.onUpgrade(socket, headers);
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders): void {
    if (this.#cancelled || this.#started) return;
    this.#started = true;
    this.#writer.onHead(controller, statusCode, headers);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (!this.#cancelled) this.#writer.onData(controller, chunk);
  }

  onResponseEnd(): void {
    if (!this.#cancelled) this.#writer.onEnd();
  }

  onResponseError(_controller: Dispatcher.DispatchController | undefined, error: Error): void {
    if (this.#started) {
      this.#writer.onBodyError(error);
      return;
    }
    if (this.#cancelled || this.#writer.clientGone) return;
    const origin = this.#origin;
    this.#writer.fail(originFailure(error, origin.name, origin.config.circuitBreaker.sleepWindowMs));
  }
}
