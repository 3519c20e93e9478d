import { z } from 'zod';
import type { RecordPosition } from '../sinks/types.js';
import { type WindowOptions, type WindowResult, windowShape } from './window.js';

/**
 * @internal one changed entry of a partition's window state: `['time']`, the
 * partition's stream time; `['key', key]`, every open window of one key
 * (`{ w: [[start, aggregate, count], …] }`), or `null` once none is open.
 */
export interface WindowStateChange {
  id: ['time'] | ['key', string];
  value: unknown;
}

interface Slot<A> {
  value: A;
  count: number;
}

/**
 * The open windows of one key in one partition: one changelog record, so an
 * event (which adds to every hopping window it falls in) changes one record.
 */
interface KeyWindows<A> {
  key: string;
  windows: Map<number, Slot<A>>;
  /** Written to the changelog at least once: once empty, it must be deleted there. */
  stored: boolean;
  /** Changed since the last checkpoint (and listed in `dirty`). */
  dirty: boolean;
}

/** The open windows of one source partition (a Kafka Streams "task"'s window store). */
interface PartitionWindows<A> {
  /** Highest event time seen in this partition: windows ending (plus lateness) at or before it are closed. */
  streamTime: number;
  timeDirty: boolean;
  keys: Map<string, KeyWindows<A>>;
  /** The keys with a window open, by window start. */
  starts: Map<number, Set<KeyWindows<A>>>;
  /** The earliest time at which an open window closes (its end plus the lateness). */
  nextClose: number;
  /** Keys changed since the last checkpoint. */
  dirty: KeyWindows<A>[];
  slots: number;
}

const storedKey = z.object({
  w: z.array(z.tuple([z.number().int(), z.unknown(), z.number().int().positive()])).min(1),
});

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
    ({ size: this.#size, advance: this.#advance, lateness: this.#lateness } = windowShape(options));
    this.#options = options;
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
        keys: new Map(),
        starts: new Map(),
        nextClose: Number.POSITIVE_INFINITY,
        dirty: [],
        slots: 0,
      };
      this.#partitions.set(tp, state);
    }
    return state;
  }

  /** Adds a value at event time `position.eventTime`; returns the windows of its partition it closed, oldest first. */
  add(value: T, position: RecordPosition): WindowResult<A>[] {
    const time = position.eventTime;
    const state = this.#state(`${position.topic}\u0000${position.partition}`);
    let entry: KeyWindows<A> | undefined;
    const last = Math.floor(time / this.#advance) * this.#advance;
    for (let start = last; start > time - this.#size; start -= this.#advance) {
      if (start + this.#size + this.#lateness <= state.streamTime) {
        this.late++;
        continue;
      }
      entry ??= this.#entry(state, this.#options.key(value));
      const slot = this.#slot(state, entry, start);
      slot.value = this.#options.add(slot.value, value);
      slot.count++;
    }
    if (entry) this.#touch(state, entry);
    if (time > state.streamTime) {
      state.streamTime = time;
      state.timeDirty = true;
    }
    return state.streamTime >= state.nextClose ? this.#close(state) : [];
  }

  #entry(state: PartitionWindows<A>, key: string): KeyWindows<A> {
    let entry = state.keys.get(key);
    if (!entry) {
      entry = { key, windows: new Map(), stored: false, dirty: false };
      state.keys.set(key, entry);
    }
    return entry;
  }

  #slot(state: PartitionWindows<A>, entry: KeyWindows<A>, start: number): Slot<A> {
    let slot = entry.windows.get(start);
    if (!slot) {
      slot = { value: this.#options.init(), count: 0 };
      entry.windows.set(start, slot);
      let keys = state.starts.get(start);
      if (!keys) {
        keys = new Set();
        state.starts.set(start, keys);
        state.nextClose = Math.min(state.nextClose, start + this.#size + this.#lateness);
      }
      keys.add(entry);
      state.slots++;
    }
    return slot;
  }

  #touch(state: PartitionWindows<A>, entry: KeyWindows<A>): void {
    if (entry.dirty) return;
    entry.dirty = true;
    state.dirty.push(entry);
  }

  #close(state: PartitionWindows<A>): WindowResult<A>[] {
    const closed: WindowResult<A>[] = [];
    const starts = [...state.starts.keys()].filter((s) => s + this.#size + this.#lateness <= state.streamTime);
    starts.sort((a, b) => a - b);
    for (const start of starts) {
      for (const entry of state.starts.get(start) as Set<KeyWindows<A>>) {
        const slot = entry.windows.get(start) as Slot<A>;
        closed.push({ key: entry.key, start, end: start + this.#size, count: slot.count, value: slot.value });
        entry.windows.delete(start);
        state.slots--;
        if (entry.windows.size === 0 && !entry.stored) state.keys.delete(entry.key);
        else this.#touch(state, entry);
      }
      state.starts.delete(start);
    }
    state.nextClose = Number.POSITIVE_INFINITY;
    for (const start of state.starts.keys()) {
      state.nextClose = Math.min(state.nextClose, start + this.#size + this.#lateness);
    }
    return closed;
  }

  /** The state of `tp` changed since the last {@link checkpointed}: what the changelog must get. */
  changes(tp: string): WindowStateChange[] {
    const state = this.#partitions.get(tp);
    if (!state) return [];
    const changes: WindowStateChange[] = [];
    if (state.timeDirty) changes.push({ id: ['time'], value: state.streamTime });
    for (const entry of state.dirty) {
      if (entry.windows.size === 0) {
        if (entry.stored) changes.push({ id: ['key', entry.key], value: null });
        continue;
      }
      const w = [...entry.windows].map(([start, slot]) => [start, slot.value, slot.count]);
      changes.push({ id: ['key', entry.key], value: { w } });
    }
    return changes;
  }

  /** The changes returned by {@link changes} are durable: forget them. */
  checkpointed(tp: string): void {
    const state = this.#partitions.get(tp);
    if (!state) return;
    for (const entry of state.dirty) {
      entry.dirty = false;
      if (entry.windows.size > 0) entry.stored = true;
      else if (state.keys.get(entry.key) === entry) state.keys.delete(entry.key);
    }
    state.dirty = [];
    state.timeDirty = false;
  }

  /** True when `tp` has changes not checkpointed yet. */
  dirty(tp: string): boolean {
    const state = this.#partitions.get(tp);
    return state !== undefined && (state.timeDirty || state.dirty.length > 0);
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
      const parsed = storedKey.safeParse(value);
      if (!parsed.success) {
        onInvalid(id);
        continue;
      }
      const entry = this.#entry(state, id[1]);
      entry.stored = true;
      for (const [start, aggregate, count] of parsed.data.w) {
        const slot = this.#slot(state, entry, start);
        slot.value = aggregate as A;
        slot.count = count;
      }
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

  /** @internal every open window of `tp` and its stream time, in a stable order (tests compare states with it). */
  snapshot(tp: string): { streamTime: number; windows: [string, number, number, A][] } {
    const state = this.#partitions.get(tp);
    const windows: [string, number, number, A][] = [];
    for (const entry of state?.keys.values() ?? []) {
      for (const [start, slot] of entry.windows) windows.push([entry.key, start, slot.count, slot.value]);
    }
    windows.sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : x[1] - y[1]));
    return { streamTime: state?.streamTime ?? Number.NEGATIVE_INFINITY, windows };
  }
}
