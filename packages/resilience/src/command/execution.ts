import type { Permit } from '../registry/group-isolation.js';
import type { TimedEntry } from '../timeout/timeout-list.js';

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

/** How one execution ended, or why it was abandoned. @internal */
export type Verdict = 'work' | 'timeout' | 'aborted' | 'cancelled';

/**
 * The state of one execution in flight: what `run` sees as its
 * {@link Execution}, and the runtime's bookkeeping (its slot, its place in
 * the timeout list, who decided its outcome). One object per execution, no
 * closures, so the hot path stays light.
 * @internal
 */
export class InflightCall implements Execution, TimedEntry {
  readonly command: string;
  readonly attempt: number;
  readonly hedge: boolean;
  readonly permit: Permit;
  readonly startedAt: number;
  readonly settle: (outcome: string, valueOrError: unknown, startedAt?: number) => void;
  readonly callerSignal: AbortSignal | undefined;
  readonly #onTimeout: (call: InflightCall) => void;
  verdict: Verdict | undefined = undefined;
  onCallerAbort: (() => void) | undefined = undefined;
  /** The call's own deadline timer, when it was queued (its deadline started before the queue). */
  timer: NodeJS.Timeout | undefined = undefined;
  // TimedEntry
  deadline = 0;
  prev: TimedEntry | undefined = undefined;
  next: TimedEntry | undefined = undefined;
  linked = false;
  #controller: AbortController | undefined = undefined;
  #reason: unknown = undefined;
  #aborted = false;

  constructor(
    command: string,
    attempt: number,
    hedge: boolean,
    permit: Permit,
    startedAt: number,
    callerSignal: AbortSignal | undefined,
    settle: (outcome: string, valueOrError: unknown, startedAt?: number) => void,
    onTimeout: (call: InflightCall) => void,
  ) {
    this.command = command;
    this.attempt = attempt;
    this.hedge = hedge;
    this.permit = permit;
    this.startedAt = startedAt;
    this.callerSignal = callerSignal;
    this.settle = settle;
    this.#onTimeout = onTimeout;
  }

  get signal(): AbortSignal {
    if (!this.#controller) {
      this.#controller = new AbortController();
      if (this.#aborted) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  /** Aborts the execution's signal (once). */
  abort(reason: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason;
    this.#controller?.abort(reason);
  }

  onTimeout(): void {
    this.#onTimeout(this);
  }
}
