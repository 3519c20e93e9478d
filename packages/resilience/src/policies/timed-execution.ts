import type { CommandRuntime } from '../command/command-runtime.js';
import type { TimeoutError } from '../errors.js';
import type { TimedEntry, TimeoutList } from '../timeout/timeout-list.js';

/**
 * One execution under a command's timeout policy, from `start()` to its
 * outcome. Exactly one of {@link succeeded}, {@link failed} or the deadline
 * decides it; whatever comes after returns `false` and records nothing.
 */
export interface TimedExecution {
  /** When it started (`performance.now()`). */
  readonly startedAt: number;
  /** Whether its outcome is decided (an answer, a failure, or the deadline). */
  readonly settled: boolean;
  /** It answered in time: counted as a success, with its latency. `false` if already decided. */
  succeeded(): boolean;
  /** It failed in time with `error`: a bad request or a failure, per the command's `isBadRequest`. `false` if already decided. */
  failed(error: unknown): boolean;
}

/** Who hears of an execution's timeout: abort its work there. */
export interface TimeoutListener {
  /** The deadline passed first: the timeout is counted, and the execution's outcome decided. */
  onTimeout(error: TimeoutError): void;
}

/** A {@link TimedExecution} linked in its policy's timeout list: one object per execution, no closure. @internal */
export class TimedCall implements TimedExecution, TimedEntry {
  readonly startedAt: number;
  readonly #runtime: CommandRuntime<never[], unknown>;
  readonly #list: TimeoutList | undefined;
  readonly #listener: TimeoutListener;
  settled = false;
  deadline = 0;
  prev: TimedEntry | undefined = undefined;
  next: TimedEntry | undefined = undefined;
  linked = false;

  constructor(
    runtime: CommandRuntime<never[], unknown>,
    list: TimeoutList | undefined,
    startedAt: number,
    listener: TimeoutListener,
  ) {
    this.#runtime = runtime;
    this.#list = list;
    this.startedAt = startedAt;
    this.#listener = listener;
    runtime.executionStarted(startedAt);
    list?.add(this, startedAt);
  }

  #decide(): boolean {
    if (this.settled) return false;
    this.settled = true;
    this.#list?.remove(this);
    return true;
  }

  succeeded(): boolean {
    if (!this.#decide()) return false;
    this.#runtime.executionSucceeded(this.startedAt, undefined);
    return true;
  }

  failed(error: unknown): boolean {
    if (!this.#decide()) return false;
    this.#runtime.executionFailed(this.startedAt, error);
    return true;
  }

  /** The deadline passed (called by the list, which already unlinked it). */
  onTimeout(): void {
    if (this.settled) return;
    this.settled = true;
    this.#listener.onTimeout(this.#runtime.executionTimedOut(this.startedAt));
  }
}
