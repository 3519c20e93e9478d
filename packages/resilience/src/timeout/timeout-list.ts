/** An entry of a {@link TimeoutList}: an in-flight call with its deadline. */
export interface TimedEntry {
  /** When it times out, on the list's clock. Set by {@link TimeoutList.add}. */
  deadline: number;
  /** @internal links of the list */
  prev: TimedEntry | undefined;
  /** @internal */
  next: TimedEntry | undefined;
  /** @internal whether the entry is in a list */
  linked: boolean;
  /** Called once, after the entry is unlinked, when its deadline passes first. */
  onTimeout(): void;
}

/**
 * Timeouts for the in-flight calls of one command, with one timer in all.
 *
 * Every call of a command has the same time budget, so deadlines come in
 * the order calls start: the in-flight calls form a list ordered by deadline,
 * with the oldest first. Starting a call links it at the tail, finishing
 * unlinks it (both O(1), no allocation), and one timer, armed for the
 * head's deadline, times out what is due and re-arms for the next. Nothing is
 * retained once a call ends.
 *
 * The timer is referenced while calls are in flight — a batch job whose only
 * pending work is a hung call stays alive until the call times out and falls
 * back, instead of exiting with code 13 — and unreferenced as soon as none is,
 * so an idle command never keeps a process alive.
 */
export class TimeoutList {
  readonly durationMs: number;
  readonly #now: () => number;
  #head: TimedEntry | undefined;
  #tail: TimedEntry | undefined;
  #size = 0;
  #timer: NodeJS.Timeout | undefined;
  #refed = false;

  constructor(durationMs: number, now: () => number = performance.now.bind(performance)) {
    this.durationMs = durationMs;
    this.#now = now;
  }

  /** In-flight entries. */
  get size(): number {
    return this.#size;
  }

  /** Links `entry`, started at `startedAt`, with a deadline `durationMs` later. */
  add(entry: TimedEntry, startedAt: number): void {
    entry.deadline = startedAt + this.durationMs;
    entry.prev = this.#tail;
    entry.next = undefined;
    entry.linked = true;
    if (this.#tail) this.#tail.next = entry;
    else this.#head = entry;
    this.#tail = entry;
    this.#size++;
    if (this.#timer === undefined) this.#schedule(entry.deadline);
    else if (!this.#refed) {
      this.#timer.ref();
      this.#refed = true;
    }
  }

  /** Unlinks `entry` (its call finished in time). */
  remove(entry: TimedEntry): void {
    if (!entry.linked) return;
    entry.linked = false;
    const { prev, next } = entry;
    if (prev) prev.next = next;
    else this.#head = next;
    if (next) next.prev = prev;
    else this.#tail = prev;
    entry.prev = undefined;
    entry.next = undefined;
    if (--this.#size === 0 && this.#refed) {
      this.#timer?.unref();
      this.#refed = false;
    }
  }

  #schedule(at: number): void {
    this.#timer = setTimeout(this.#onTimer, Math.max(1, Math.ceil(at - this.#now())));
    this.#refed = true;
  }

  readonly #onTimer = (): void => {
    this.#timer = undefined;
    this.#refed = false;
    const now = this.#now();
    let head = this.#head;
    while (head && head.deadline <= now) {
      this.remove(head);
      head.onTimeout();
      head = this.#head;
    }
    if (head && this.#timer === undefined) this.#schedule(head.deadline);
  };

  /** Cancels the timer and unlinks everything; nothing times out. */
  clear(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#refed = false;
    while (this.#head) this.remove(this.#head);
  }
}
