import type { IncomingHttpHeaders } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Dispatcher } from 'undici';
import { DetachedController } from './detached-controller.js';
import { type ExchangeOriginCall, exchangeCall, type OriginCall } from './origin-call.js';

/**
 * A dispatch handler that passes every event on to the one it wraps (as
 * undici's `DecoratorHandler`, without its state checks): an interceptor
 * extends it and overrides the events it acts on; the origin's answer (a
 * response head, or the `101` of an upgrade) comes to {@link answer} first,
 * a failure to {@link failed}.
 *
 * Given the gateway's call (the steps that hold something: breaker,
 * concurrency limit, timeout), it is one of the call's open steps
 * ({@link cancelOpenSteps}): a request the exchange cancels (its deadline,
 * a client gone) is failed at the innermost step still waiting, even when a
 * step below it never started the attempt, so every step above hears how it
 * ended (its slot given back, its breaker told).
 */
export class ForwardingHandler implements Dispatcher.DispatchHandler {
  protected readonly next: Dispatcher.DispatchHandler;
  /** Whether the origin answered the current attempt (a response head or a `101`). */
  protected answered = false;
  /** Whether the outcome came through this step (an answer or a failure). */
  settled = false;
  /** The attempt's controller, once the steps below started it. */
  controller: Dispatcher.DispatchController | undefined = undefined;
  /** The step created before this one for the same call (the call's steps, innermost first). */
  readonly previous: ForwardingHandler | undefined;

  constructor(next: Dispatcher.DispatchHandler, call?: OriginCall) {
    this.next = next;
    const own = exchangeCall(call);
    this.previous = own?.innermost;
    if (own) own.innermost = this;
  }

  /** The steps below started the attempt: its controller is noted (overrides note it too). */
  onRequestStart(controller: Dispatcher.DispatchController, context: unknown): void {
    this.controller = controller;
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
    this.settled = true;
    return true;
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.next.onResponseData?.(controller, chunk);
  }

  onResponseEnd(controller: Dispatcher.DispatchController, trailers: IncomingHttpHeaders): void {
    this.next.onResponseEnd?.(controller, trailers);
  }

  onResponseError(controller: Dispatcher.DispatchController, error: Error): void {
    this.settled = true;
    this.failed(controller, error);
  }

  /** The attempt failed (before or after its answer): overrides act on it and pass it on. */
  protected failed(controller: Dispatcher.DispatchController, error: Error): void {
    this.next.onResponseError?.(controller, error);
  }

  /**
   * Fails the attempt here with `reason`: through undici when the attempt
   * started (its failure then comes up through the steps below), at once
   * otherwise (a step below never called on).
   */
  cancel(reason: Error): void {
    if (this.controller) this.controller.abort(reason);
    else this.onResponseError(new DetachedController(reason), reason);
  }
}

/**
 * Cancels what is open of the call: the innermost of its steps still
 * waiting for an outcome is failed with `reason` ({@link ForwardingHandler.cancel}),
 * and the failure comes up through every step above it. Returns `false`
 * when no step is waiting.
 */
export function cancelOpenSteps(call: ExchangeOriginCall, reason: Error): boolean {
  for (let step = call.innermost; step; step = step.previous) {
    if (!step.settled) {
      step.cancel(reason);
      return true;
    }
  }
  return false;
}
