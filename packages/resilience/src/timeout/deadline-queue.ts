/**
 * One armed deadline: `expire` runs if the deadline passes first. When the
 * work settles in time, set `expire` to `undefined`: the queue then skips the
 * deadline, and whatever the callback held can be collected at once.
 */
export interface Deadline {
  /** When it expires, on the `performance.now()` clock. */
  readonly at: number;
  /** Called once if the deadline passes first; `undefined` once settled or expired. */
  expire: (() => void) | undefined;
}

/**
 * Timeouts for many calls that share one duration (a command's), with one
 * timer instead of one `setTimeout` per call.
 *
 * Deadlines of a fixed duration expire in the order they were armed, so they
 * form a FIFO queue: arming is a push, settling in time clears a field, and a
 * single timer, armed for the oldest live deadline, expires what is due and
 * re-arms itself. The timer is `unref`'d: it never keeps a process alive.
 */
export class DeadlineQueue {
  readonly #durationMs: number;
  readonly #now: () => number;
  #queue: Deadline[] = [];
  #head = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(durationMs: number, now: () => number = performance.now.bind(performance)) {
    this.#durationMs = durationMs;
    this.#now = now;
  }

  /** Deadlines in the queue (settled ones count until the timer passes them). */
  get size(): number {
    return this.#queue.length - this.#head;
  }

  /** Arms a deadline `durationMs` from now. Set its `expire` to `undefined` when the work settles. */
  arm(expire: () => void): Deadline {
    const deadline: Deadline = { at: this.#now() + this.#durationMs, expire };
    this.#queue.push(deadline);
    if (this.#timer === undefined) this.#schedule(deadline.at);
    return deadline;
  }

  #schedule(at: number): void {
    this.#timer = setTimeout(this.#onTimer, Math.max(0, Math.ceil(at - this.#now())));
    this.#timer.unref();
  }

  readonly #onTimer = (): void => {
    this.#timer = undefined;
    const now = this.#now();
    const queue = this.#queue;
    let head = this.#head;
    while (head < queue.length) {
      const deadline = queue[head] as Deadline;
      const expire = deadline.expire;
      if (expire) {
        if (deadline.at > now) break;
        deadline.expire = undefined;
        expire();
      }
      head++;
    }
    // Compact: drop the consumed prefix once it is large, so memory stays bounded.
    if (head === queue.length) {
      this.#queue = [];
      head = 0;
    } else if (head > 1024 && head * 2 > queue.length) {
      this.#queue = queue.slice(head);
      head = 0;
    }
    this.#head = head;
    // Skip deadlines already settled at the front, then re-arm for the next live one.
    while (this.#head < this.#queue.length && (this.#queue[this.#head] as Deadline).expire === undefined) this.#head++;
    const next = this.#queue[this.#head];
    if (next) this.#schedule(next.at);
    else {
      this.#queue = [];
      this.#head = 0;
    }
  };

  /** Cancels the timer and forgets every deadline (none expires). */
  clear(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#queue = [];
    this.#head = 0;
  }
}
