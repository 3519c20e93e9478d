/**
 * What a command's `run` receives about its own execution. The `signal` is
 * created on first use (a call that never reads it pays nothing for it) and
 * aborts when the command times out, the caller gives up, or a hedged twin
 * wins first.
 */
export interface Execution {
  /** Aborts when this execution's result is no longer wanted. Pass it to undici/fetch. */
  readonly signal: AbortSignal;
  /** 1 for the first attempt, 2 for the first retry, … */
  readonly attempt: number;
  /** Whether this execution is a hedge (a second, parallel attempt). */
  readonly hedge: boolean;
  /** The command's key. */
  readonly command: string;
}

/** @internal */
export class ExecutionState implements Execution {
  readonly command: string;
  readonly attempt: number;
  readonly hedge: boolean;
  /** Set by the runtime: gives up on this execution (a hedge twin won). */
  cancel: () => void = () => {};
  #controller: AbortController | undefined;
  #reason: unknown;
  #aborted = false;

  constructor(command: string, attempt: number, hedge: boolean) {
    this.command = command;
    this.attempt = attempt;
    this.hedge = hedge;
  }

  get signal(): AbortSignal {
    if (!this.#controller) {
      this.#controller = new AbortController();
      if (this.#aborted) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  abort(reason: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason;
    this.#controller?.abort(reason);
  }
}
