import { z } from 'zod';
import type { RecordPosition } from '../sinks/types.js';
import { type WindowOptions, type WindowResult, windowOptionsSchema } from './window.js';

/** @internal one changed entry of a partition's window state: `value` `null` deletes it. */
export interface WindowStateChange {
  /** `['time']` for the partition's stream time, `['slot', start, key]` for an open window's aggregate. */
  id: ['time'] | ['slot', number, string];
  value: unknown;
}

interface Slot<A> {
  start: number;
  key: string;
  value: A;
  count: number;
  /** Written to the changelog at least once: closing it must delete it there. */
  stored: boolean;
  /** Changed since the last checkpoint (and listed in `dirty`). */
  dirty: boolean;
  /** Its window closed (it may still be listed in `dirty`, then skipped). */
  closed: boolean;
}

/** The open windows of one source partition (a Kafka Streams "task"'s window store). */
interface PartitionWindows<A> {
  /** Highest event time seen in this partition: windows ending (plus lateness) at or before it are closed. */
  streamTime: number;
  timeDirty: boolean;
  windows: Map<number, Map<string, Slot<A>>>;
  /** The earliest time at which an open window closes (its end plus the lateness). */
  nextClose: number;
  /** Slots changed since the last checkpoint. */
  dirty: Slot<A>[];
  /** Stored slots whose window closed since the last checkpoint. */
  closed: Slot<A>[];
  slots: number;
}

const storedSlot = z.object({ v: z.unknown(), c: z.number().int().nonnegative() });

/**
 * @internal event-time windows kept per source partition, as Kafka Streams
 * keeps them per task: each partition closes its windows by its own stream time
 * (the highest event time it brought), so the results depend only on the
 * partition's events, never on which group member owns which partitions. Its
 * state (open aggregates and stream time) is checkpointed by the pipeline to a
 * changelog and restored when the partition is assigned again, so nothing
 * holds offsets back and a closed window is never emitted again after a restart.
 */
export class PartitionedWindowAggregator<T, A> {
  readonly #options: WindowOptions<T, A>;
  readonly #size: number;
  readonly #advance: number;
  readonly #lateness: number;
  readonly #partitions = new Map<string, PartitionWindows<A>>();
  late = 0;

  constructor(options: WindowOptions<T, A>) {
    const parsed = windowOptionsSchema.safeParse(options);
    if (!parsed.success) throw new TypeError(`window: ${z.prettifyError(parsed.error)}`);
    this.#options = options;
    this.#size = options.sizeMs;
    this.#advance = options.type === 'hopping' ? (options.advanceMs as number) : options.sizeMs;
    this.#lateness = options.allowedLatenessMs ?? 0;
  }

  /** The window's shape (size, advance, lateness): restored state must match it to apply. */
  get shape(): string {
    return `${this.#size}/${this.#advance}/${this.#lateness}`;
  }

  #state(tp: string): PartitionWindows<A> {
    let state = this.#partitions.get(tp);
    if (!state) {
      state = {
        streamTime: Number.NEGATIVE_INFINITY,
        timeDirty: false,
        windows: new Map(),
        nextClose: Number.POSITIVE_INFINITY,
        dirty: [],
        closed: [],
        slots: 0,
      };
      this.#partitions.set(tp, state);
    }
    return state;
  }

  /** Adds a value at event time `position.eventTime`; returns the windows of its partition it closed, oldest first. */
  add(value: T, position: RecordPosition): WindowResult<A>[] {
    const time = position.eventTime;
    const key = this.#options.key(value);
    const state = this.#state(`${position.topic}\u0000${position.partition}`);
    const last = Math.floor(time / this.#advance) * this.#advance;
    for (let start = last; start > time - this.#size; start -= this.#advance) {
      if (start + this.#size + this.#lateness <= state.streamTime) {
        this.late++;
        continue;
      }
      const slot = this.#slot(state, start, key);
      slot.value = this.#options.add(slot.value, value);
      slot.count++;
      if (!slot.dirty) {
        slot.dirty = true;
        state.dirty.push(slot);
      }
    }
    if (time > state.streamTime) {
      state.streamTime = time;
      state.timeDirty = true;
    }
    return state.streamTime >= state.nextClose ? this.#close(state) : [];
  }

  #slot(state: PartitionWindows<A>, start: number, key: string): Slot<A> {
    let byKey = state.windows.get(start);
    if (!byKey) {
      byKey = new Map();
      state.windows.set(start, byKey);
      state.nextClose = Math.min(state.nextClose, start + this.#size + this.#lateness);
    }
    let slot = byKey.get(key);
    if (!slot) {
      slot = { start, key, value: this.#options.init(), count: 0, stored: false, dirty: false, closed: false };
      byKey.set(key, slot);
      state.slots++;
    }
    return slot;
  }

  #close(state: PartitionWindows<A>): WindowResult<A>[] {
    const closed: WindowResult<A>[] = [];
    const starts = [...state.windows.keys()].filter((s) => s + this.#size + this.#lateness <= state.streamTime);
    starts.sort((a, b) => a - b);
    for (const start of starts) {
      const byKey = state.windows.get(start) as Map<string, Slot<A>>;
      for (const [key, slot] of byKey) {
        closed.push({ key, start, end: start + this.#size, count: slot.count, value: slot.value });
        slot.closed = true;
        if (slot.stored) state.closed.push(slot);
      }
      state.slots -= byKey.size;
      state.windows.delete(start);
    }
    state.nextClose = Number.POSITIVE_INFINITY;
    for (const start of state.windows.keys()) {
      state.nextClose = Math.min(state.nextClose, start + this.#size + this.#lateness);
    }
    return closed;
  }

  /** The state of `topic`/`partition` changed since the last {@link checkpointed}: what the changelog must get. */
  changes(tp: string): WindowStateChange[] {
    const state = this.#partitions.get(tp);
    if (!state) return [];
    const changes: WindowStateChange[] = [];
    if (state.timeDirty) changes.push({ id: ['time'], value: state.streamTime });
    for (const slot of state.dirty) {
      if (!slot.closed) changes.push({ id: ['slot', slot.start, slot.key], value: { v: slot.value, c: slot.count } });
    }
    for (const slot of state.closed) changes.push({ id: ['slot', slot.start, slot.key], value: null });
    return changes;
  }

  /** The changes returned by {@link changes} are durable: forget them. */
  checkpointed(tp: string): void {
    const state = this.#partitions.get(tp);
    if (!state) return;
    for (const slot of state.dirty) {
      slot.dirty = false;
      if (!slot.closed) slot.stored = true;
    }
    state.dirty = [];
    state.closed = [];
    state.timeDirty = false;
  }

  /** True when `tp` has changes not checkpointed yet. */
  dirty(tp: string): boolean {
    const state = this.#partitions.get(tp);
    return state !== undefined && (state.timeDirty || state.dirty.length > 0 || state.closed.length > 0);
  }

  /**
   * Replaces the state of `tp` with entries read back from the changelog (the
   * latest value of each id). Entries that do not parse are reported to
   * `onInvalid` and skipped.
   */
  restore(tp: string, entries: Iterable<WindowStateChange>, onInvalid: (id: unknown) => void): void {
    this.#partitions.delete(tp);
    const state = this.#state(tp);
    for (const { id, value } of entries) {
      if (id[0] === 'time') {
        if (typeof value === 'number') state.streamTime = value;
        else onInvalid(id);
        continue;
      }
      const parsed = storedSlot.safeParse(value);
      if (!parsed.success) {
        onInvalid(id);
        continue;
      }
      const [, start, key] = id;
      const slot = this.#slot(state, start, key);
      slot.value = parsed.data.v as A;
      slot.count = parsed.data.c;
      slot.stored = true;
    }
  }

  /** Forgets the state of a partition this member no longer owns. */
  drop(tp: string): void {
    this.#partitions.delete(tp);
  }

  /** Open window slots (key × window) of `tp`. */
  size(tp: string): number {
    return this.#partitions.get(tp)?.slots ?? 0;
  }

  /** The partitions with state. */
  partitions(): string[] {
    return [...this.#partitions.keys()];
  }
}
