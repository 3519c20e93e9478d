import type { IncomingHttpHeaders } from 'node:http';
import type { Command } from '@backlot/resilience';
import type { Dispatcher } from 'undici';
import { ForwardingHandler } from './forwarding-handler.js';

/** One attempt run inside a resilience command: settles at the answer's head, rejects on a failure before it. */
export interface CommandAttempt {
  /** Dispatches; resolves at the response head (or the `101` of an upgrade), rejects on a failure before it. */
  start(): Promise<void>;
}

const NO_CALL_OPTIONS = {};
const NOTHING = () => {};

/** A controller for an attempt the command refused before it was dispatched. */
const NOT_DISPATCHED: Dispatcher.DispatchController = {
  aborted: true,
  paused: false,
  reason: null,
  abort() {},
  pause() {},
  resume() {},
};

/** One attempt inside the command: the command's verdict (timeout, open circuit, no permit) is carried out here. */
class CommandHandler extends ForwardingHandler implements CommandAttempt {
  readonly #dispatch: Dispatcher.Dispatch;
  readonly #options: Dispatcher.DispatchOptions;
  #controller: Dispatcher.DispatchController | undefined;
  #resolve: (() => void) | undefined;
  #reject: ((error: Error) => void) | undefined;
  #settled = false;
  #gaveUp: Error | undefined;

  constructor(next: Dispatcher.DispatchHandler, dispatch: Dispatcher.Dispatch, options: Dispatcher.DispatchOptions) {
    super(next);
    this.#dispatch = dispatch;
    this.#options = options;
  }

  start(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
      try {
        this.#dispatch(this.#options, this);
      } catch (error) {
        this.#settle(error as Error);
      }
    });
  }

  #settle(error?: Error): void {
    if (this.#settled) return;
    this.#settled = true;
    if (error) this.#reject?.(error);
    else this.#resolve?.();
  }

  /** The command failed the call (the attempt's own failure, a timeout, an open circuit, no permit): passed on once. */
  gaveUp(error: Error): void {
    if (this.#gaveUp) return;
    this.#gaveUp = error;
    this.#settled = true;
    this.#controller?.abort(error);
    this.next.onResponseError?.(this.#controller ?? NOT_DISPATCHED, error);
  }

  override onRequestStart(controller: Dispatcher.DispatchController, context: unknown): void {
    this.#controller = controller;
    if (this.#gaveUp) controller.abort(this.#gaveUp);
    else this.next.onRequestStart?.(controller, context);
  }

  protected override answer(statusCode: number): boolean {
    if (this.#gaveUp) return false;
    this.#settle();
    return super.answer(statusCode);
  }

  override onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (!this.#gaveUp) this.next.onResponseData?.(controller, chunk);
  }

  override onResponseEnd(controller: Dispatcher.DispatchController, trailers: IncomingHttpHeaders): void {
    if (!this.#gaveUp) this.next.onResponseEnd?.(controller, trailers);
  }

  override onResponseError(controller: Dispatcher.DispatchController, error: Error): void {
    if (this.#gaveUp) return;
    if (!this.#settled) {
      this.#controller = controller;
      this.#settle(error); // the command records it, then gives up with its verdict
      return;
    }
    this.next.onResponseError?.(controller, error);
  }
}

/**
 * An origin's `@backlot/resilience` command as an interceptor: each attempt
 * runs inside it until its response head, so the command's circuit breaker,
 * concurrency limit (or bulkhead) and timeout apply, and its metrics (the
 * Hystrix stream, `backlot_command_*`) count every attempt. The command's
 * verdict is carried out here: a timeout aborts the attempt, an open
 * circuit or a refused permit fails it before it is dispatched.
 */
export function resilienceCommand(command: Command<[CommandAttempt], void>): Dispatcher.DispatcherComposeInterceptor {
  return (dispatch) => (options, handler) => {
    const attempt = new CommandHandler(handler, dispatch, options);
    command
      .execute(NO_CALL_OPTIONS, attempt)
      .then(NOTHING, (error: unknown) => attempt.gaveUp(error instanceof Error ? error : new Error(String(error))));
    return true;
  };
}
