import type { IncomingHttpHeaders } from 'node:http';
import type { Duplex } from 'node:stream';
import type { TimedEntry } from '@backlot/resilience';
import type { Dispatcher } from 'undici';
import { GatewayError } from '../errors.js';
import { cancelOpenSteps } from '../origins/chain/forwarding-handler.js';
import type { ExchangeOriginCall } from '../origins/chain/origin-call.js';
import type { Origin } from '../origins/origin.js';
import { clientClosed } from '../proxy/fault.js';
import { originFailure } from '../proxy/respond.js';
import type { ResponseWriter } from './response-writer.js';

/**
 * The exchange's end of an origin's chain: the handler its request is
 * dispatched with. It hands the origin's answer (head, body, or the `101`
 * of an upgrade) to the exchange's {@link ResponseWriter}, answers the
 * chain's final failure (after its retries) as a gateway error, and aborts
 * the attempt in flight when the client goes away.
 *
 * It is also the request's entry in the origin's deadline list
 * ({@link Origin.deadlines}, `deadlineMs`), from its dispatch to the answer's
 * head: a chain that has not answered by then (a step of yours that never
 * calls on, attempts and retries that add up) is cancelled, and the client
 * gets `504 origin_timeout`. @internal
 */
export class OriginResponseHandler implements Dispatcher.DispatchHandler, TimedEntry {
  readonly #writer: ResponseWriter;
  readonly #origin: Origin;
  readonly #call: ExchangeOriginCall;
  #controller: Dispatcher.DispatchController | undefined;
  #cancelled: Error | undefined;
  #started = false;
  // TimedEntry (the origin's deadline list)
  deadline = 0;
  prev: TimedEntry | undefined = undefined;
  next: TimedEntry | undefined = undefined;
  linked = false;

  constructor(writer: ResponseWriter, origin: Origin, call: ExchangeOriginCall) {
    this.#writer = writer;
    this.#origin = origin;
    this.#call = call;
  }

  /** The request enters its origin's chain now: its deadline starts. */
  dispatched(at: number): void {
    this.#origin.deadlines.add(this, at);
  }

  /**
   * Aborts the attempt in flight, and any the chain would start after it:
   * the innermost of the gateway's steps still waiting fails with `reason`
   * (through undici when the attempt started), so the steps above it give
   * back what they hold, also when a step below never called on.
   */
  cancel(reason: Error): void {
    if (this.#cancelled) return;
    this.#cancelled = reason;
    this.#call.cancelled = reason;
    this.#origin.deadlines.remove(this);
    if (!cancelOpenSteps(this.#call, reason)) this.#controller?.abort(reason);
  }

  /** The request's deadline passed before the chain answered: cancelled, answered `504`. */
  onTimeout(): void {
    if (this.#started || this.#cancelled) return;
    const origin = this.#origin;
    const ms = origin.deadlines.durationMs;
    const error = new GatewayError(
      'BACKLOT_GATEWAY_ORIGIN_TIMEOUT',
      `origin '${origin.name}' did not answer within the request's deadline of ${ms} ms`,
    );
    this.cancel(error);
    if (!this.#writer.clientGone) this.#writer.fail(error);
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
    this.#origin.deadlines.remove(this);
    this.#writer.onUpgrade(socket, headers);
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders): void {
    if (this.#cancelled || this.#started) return;
    this.#started = true;
    this.#origin.deadlines.remove(this);
    this.#writer.onHead(controller, statusCode, headers);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (!this.#cancelled) this.#writer.onData(controller, chunk);
  }

  onResponseEnd(): void {
    if (!this.#cancelled) this.#writer.onEnd();
  }

  onResponseError(_controller: Dispatcher.DispatchController | undefined, error: Error): void {
    this.#origin.deadlines.remove(this);
    if (this.#started) {
      this.#writer.onBodyError(error);
      return;
    }
    if (this.#cancelled || this.#writer.clientGone) return;
    const origin = this.#origin;
    this.#writer.fail(originFailure(error, origin.name, origin.config.circuitBreaker.sleepWindowMs));
  }
}
