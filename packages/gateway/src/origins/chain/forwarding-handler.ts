import type { IncomingHttpHeaders } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Dispatcher } from 'undici';

/**
 * A dispatch handler that passes every event on to the one it wraps (as
 * undici's `DecoratorHandler`, without its state checks): an interceptor
 * extends it and overrides the events it acts on; the origin's answer (a
 * response head, or the `101` of an upgrade) comes to {@link answer} first.
 */
export class ForwardingHandler implements Dispatcher.DispatchHandler {
  protected readonly next: Dispatcher.DispatchHandler;
  /** Whether the origin answered the current attempt (a response head or a `101`). */
  protected answered = false;

  constructor(next: Dispatcher.DispatchHandler) {
    this.next = next;
  }

  onRequestStart(controller: Dispatcher.DispatchController, context: unknown): void {
    this.next.onRequestStart?.(controller, context);
  }

  onRequestUpgrade(
    controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: IncomingHttpHeaders,
    socket: Duplex,
  ): void {
    if (this.answer(statusCode)) this.next.onRequestUpgrade?.(controller, statusCode, headers, socket);
    else socket.destroy();
  }

  onResponseStart(
    controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: IncomingHttpHeaders,
    statusMessage?: string,
  ): void {
    if (this.answer(statusCode)) this.next.onResponseStart?.(controller, statusCode, headers, statusMessage);
  }

  /**
   * The origin answered with `statusCode` (`101`: an upgrade): notes it and
   * returns whether the answer goes on (`false` drops it; an upgrade's socket
   * is then destroyed). Overrides call `super.answer()`.
   */
  protected answer(_statusCode: number): boolean {
    this.answered = true;
    return true;
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.next.onResponseData?.(controller, chunk);
  }

  onResponseEnd(controller: Dispatcher.DispatchController, trailers: IncomingHttpHeaders): void {
    this.next.onResponseEnd?.(controller, trailers);
  }

  onResponseError(controller: Dispatcher.DispatchController, error: Error): void {
    this.next.onResponseError?.(controller, error);
  }
}
