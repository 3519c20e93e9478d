import { z } from 'zod';
import type { RecordPosition } from '../sinks/types.js';

/** Options of a windowed aggregation (`stream.window(…)`). */
export interface WindowOptions<T, A> {
  /** `tumbling` (default): back-to-back windows of `sizeMs`; `hopping`: windows of `sizeMs` starting every `advanceMs`. */
  type?: 'tumbling' | 'hopping' | undefined;
  /** Window length in ms (required). */
  sizeMs: number;
  /** Hopping windows: how far each window starts after the previous one, in ms (required for `hopping`, less than `sizeMs`). */
  advanceMs?: number | undefined;
  /** How long after a window's end late events are still added, in event time (default 0). Later events are counted and dropped. */
  allowedLatenessMs?: number | undefined;
  /**
   * A partition that brought no event for this long (wall-clock ms) stops
   * holding the watermark back, so windows still close when some partitions
   * are idle (Flink's idleness). Its later events may then be late. Default:
   * none — the watermark waits for every partition.
   */
  idleTimeoutMs?: number | undefined;
  /** The grouping key, e.g. `(e) => \`${e.payload.country}/${e.payload.titleId}\`` (required). */
  key: (value: T) => string;
  /** The initial aggregate of a window (required). */
  init: () => A;
  /** Adds a value to an aggregate, returning the new aggregate (required). */
  add: (aggregate: A, value: T) => A;
}

/** The result of one window for one key, emitted once the window closes (event time passed its end plus the allowed lateness). */
export interface WindowResult<A> {
  /** The grouping key. */
  key: string;
  /** Window start, ms since epoch (inclusive). */
  start: number;
  /** Window end, ms since epoch (exclusive). */
  end: number;
  /** Values aggregated. */
  count: number;
  /** The aggregate. */
  value: A;
}

/** @internal the schema of {@link WindowOptions}, shared by every window operator. */
export const windowOptionsSchema = z
  .object({
    type: z.enum(['tumbling', 'hopping'], { error: "type must be 'tumbling' or 'hopping'" }).optional(),
    sizeMs: z
      .number({ error: 'sizeMs is required: the window length in ms' })
      .int()
      .positive('sizeMs must be positive'),
    advanceMs: z.number().int().positive('advanceMs must be positive').optional(),
    allowedLatenessMs: z.number().int().min(0, 'allowedLatenessMs must be 0 or more').optional(),
    idleTimeoutMs: z.number().int().positive('idleTimeoutMs must be a positive number of ms').optional(),
    key: z.custom<(v: unknown) => string>((v) => typeof v === 'function', 'key is required: a function (value) => key'),
    init: z.custom<() => unknown>(
      (v) => typeof v === 'function',
      'init is required: a function () => initial aggregate',
    ),
    add: z.custom<(a: unknown, v: unknown) => unknown>(
      (v) => typeof v === 'function',
      'add is required: a function (aggregate, value) => aggregate',
    ),
  })
  .refine((o) => o.type !== 'hopping' || (o.advanceMs !== undefined && o.advanceMs < o.sizeMs), {
    message: 'hopping windows need advanceMs, smaller than sizeMs (e.g. sizeMs: 60000, advanceMs: 10000)',
    path: ['advanceMs'],
  });

/** @internal validates window options; returns the window's size, advance and lateness. */
export function windowShape<T, A>(options: WindowOptions<T, A>): { size: number; advance: number; lateness: number } {
  const parsed = windowOptionsSchema.safeParse(options);
  if (!parsed.success) throw new TypeError(`window: ${z.prettifyError(parsed.error)}`);
  return {
    size: options.sizeMs,
    advance: options.type === 'hopping' ? (options.advanceMs as number) : options.sizeMs,
    lateness: options.allowedLatenessMs ?? 0,
  };
}

interface Slot<A> {
  value: A;
  count: number;
}

/**
 * @internal event-time windows with a watermark (highest event time seen), and
 * the earliest source offset each open window still depends on, per partition,
 * so the pipeline never commits past an event whose window has not been emitted.
 */
export class WindowAggregator<T, A> {
  readonly #options: WindowOptions<T, A>;
  readonly #size: number;
  readonly #advance: number;
  readonly #lateness: number;
  /** Open windows by start, then by key. */
  readonly #windows = new Map<number, Map<string, Slot<A>>>();
  /** Earliest offset per `topic\u0000partition` each open window depends on. */
  readonly #holds = new Map<number, Map<string, bigint>>();
  /** Highest event time seen per `topic\u0000partition`. */
  readonly #marks = new Map<string, number>();
  /** Partitions assigned to this consumer, when the transport says. */
  #assigned: string[] | undefined;
  /** When each partition last brought an event, or was assigned (wall clock). */
  readonly #lastActive = new Map<string, number>();
  readonly #idleTimeout: number | undefined;
  readonly #now: () => number;
  /** The watermark: the lowest of the partitions' highest event times (never goes back). */
  #watermark = Number.NEGATIVE_INFINITY;
  /** Per `topic\u0000partition`: the watermark this operator had emitted through before a restart. */
  readonly #emittedThrough = new Map<string, number>();
  late = 0;
  /** Events skipped because their window was emitted before a restart. */
  alreadyEmitted = 0;

  /** The window's shape (size, advance, lateness): what a restored watermark must match to apply. */
  get shape(): string {
    return `${this.#size}/${this.#advance}/${this.#lateness}`;
  }

  /** The watermark: windows whose end plus allowed lateness is at or before it have been emitted. */
  get watermark(): number {
    return this.#watermark;
  }

  /**
   * Says that, before a restart, every window of this operator whose end plus
   * allowed lateness is at or before `watermark` was emitted: events of such
   * windows consumed again from `topic`/`partition` are skipped (counted in
   * `alreadyEmitted`) instead of forming a window that would be emitted again
   * with only part of its events.
   */
  restoreEmitted(topic: string, partition: number, watermark: number): void {
    const tp = `${topic}\u0000${partition}`;
    this.#emittedThrough.set(tp, Math.max(watermark, this.#emittedThrough.get(tp) ?? Number.NEGATIVE_INFINITY));
  }

  /** Sets the partitions this consumer owns: the watermark waits for each of them. */
  assign(partitions: readonly { topic: string; partition: number }[]): void {
    this.#assigned = partitions.map((p) => `${p.topic}\u0000${p.partition}`);
    const now = this.#now();
    for (const id of this.#assigned) if (!this.#lastActive.has(id)) this.#lastActive.set(id, now);
  }

  constructor(options: WindowOptions<T, A>, now: () => number = Date.now) {
    ({ size: this.#size, advance: this.#advance, lateness: this.#lateness } = windowShape(options));
    this.#options = options;
    this.#idleTimeout = options.idleTimeoutMs;
    this.#now = now;
  }

  /** Adds a value at event time `position.eventTime`; returns the windows it closed, oldest first. */
  add(value: T, position: RecordPosition): WindowResult<A>[] {
    const time = position.eventTime;
    const key = this.#options.key(value);
    const tp = `${position.topic}\u0000${position.partition}`;
    const last = Math.floor(time / this.#advance) * this.#advance;
    const emittedThrough = this.#emittedThrough.get(tp) ?? Number.NEGATIVE_INFINITY;
    for (let start = last; start > time - this.#size; start -= this.#advance) {
      if (start + this.#size + this.#lateness <= emittedThrough) {
        this.alreadyEmitted++;
        continue;
      }
      if (start + this.#size + this.#lateness <= this.#watermark) {
        this.late++;
        continue;
      }
      let byKey = this.#windows.get(start);
      if (!byKey) {
        byKey = new Map();
        this.#windows.set(start, byKey);
      }
      const slot = byKey.get(key) ?? { value: this.#options.init(), count: 0 };
      slot.value = this.#options.add(slot.value, value);
      slot.count++;
      byKey.set(key, slot);
      const holds = this.#holds.get(start) ?? new Map<string, bigint>();
      const offset = BigInt(position.offset);
      const held = holds.get(tp);
      if (held === undefined || offset < held) holds.set(tp, offset);
      this.#holds.set(start, holds);
    }
    if (time > (this.#marks.get(tp) ?? Number.NEGATIVE_INFINITY)) this.#marks.set(tp, time);
    const wall = this.#now();
    this.#lastActive.set(tp, wall);
    let partitions = this.#assigned ?? [...this.#marks.keys()];
    if (this.#idleTimeout !== undefined) {
      const timeout = this.#idleTimeout;
      // This event's partition is active, so at least one partition always remains.
      partitions = partitions.filter((id) => wall - (this.#lastActive.get(id) ?? wall) < timeout);
    }
    let low = Number.POSITIVE_INFINITY;
    for (const id of partitions) low = Math.min(low, this.#marks.get(id) ?? Number.NEGATIVE_INFINITY);
    if (partitions.length > 0 && low > this.#watermark) this.#watermark = low;
    return this.#close();
  }

  /** Earliest source offset per `topic\u0000partition` still needed by open windows. */
  holds(): Map<string, bigint> {
    const min = new Map<string, bigint>();
    for (const holds of this.#holds.values()) {
      for (const [tp, offset] of holds) {
        const current = min.get(tp);
        if (current === undefined || offset < current) min.set(tp, offset);
      }
    }
    return min;
  }

  #close(): WindowResult<A>[] {
    const closed: WindowResult<A>[] = [];
    const starts = [...this.#windows.keys()].filter((s) => s + this.#size + this.#lateness <= this.#watermark);
    starts.sort((a, b) => a - b);
    for (const start of starts) {
      const byKey = this.#windows.get(start) as Map<string, Slot<A>>;
      for (const [key, slot] of byKey) {
        closed.push({ key, start, end: start + this.#size, count: slot.count, value: slot.value });
      }
      this.#windows.delete(start);
      this.#holds.delete(start);
    }
    return closed;
  }
}
