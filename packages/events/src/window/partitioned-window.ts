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
  value: A;
  count: number;
  /** Written to the changelog at least once: closing it must delete it there. */
  stored: boolean;
}

/** The open windows of one source partition (a Kafka Streams "task"'s window store). */
interface PartitionWindows<A> {
  /** Highest event time seen in this partition: windows ending (plus lateness) at or before it are closed. */
  streamTime: number;
  timeDirty: boolean;
  windows: Map<number, Map<string, Slot<A>>>;
  /** `start\u0000key` of slots changed since the last checkpoint. */
  dirty: Set<string>;
  /** `start\u0000key` of stored slots whose window closed since the last checkpoint. */
  closed: Set<string>;
  slots: number;
}

const slotId = (start: number, key: string) => `${start}\u0000${key}`;
const parseSlotId = (id: string): [number, string] => {
  const cut = id.indexOf('\u0000');
  return [Number(id.slice(0, cut)), id.slice(cut + 1)];
};

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
        dirty: new Set(),
        closed: new Set(),
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
      let byKey = state.windows.get(start);
      if (!byKey) {
        byKey = new Map();
        state.windows.set(start, byKey);
      }
      let slot = byKey.get(key);
      if (!slot) {
        slot = { value: this.#options.init(), count: 0, stored: false };
        byKey.set(key, slot);
        state.slots++;
      }
      slot.value = this.#options.add(slot.value, value);
      slot.count++;
      state.dirty.add(slotId(start, key));
    }
    if (time > state.streamTime) {
      state.streamTime = time;
      state.timeDirty = true;
    }
    return this.#close(state);
  }

  #close(state: PartitionWindows<A>): WindowResult<A>[] {
    const closed: WindowResult<A>[] = [];
    const starts = [...state.windows.keys()].filter((s) => s + this.#size + this.#lateness <= state.streamTime);
    starts.sort((a, b) => a - b);
    for (const start of starts) {
      const byKey = state.windows.get(start) as Map<string, Slot<A>>;
      for (const [key, slot] of byKey) {
        closed.push({ key, start, end: start + this.#size, count: slot.count, value: slot.value });
        const id = slotId(start, key);
        state.dirty.delete(id);
        if (slot.stored) state.closed.add(id);
      }
      state.slots -= byKey.size;
      state.windows.delete(start);
    }
    return closed;
  }

  /** The state of `topic`/`partition` changed since the last {@link checkpointed}: what the changelog must get. */
  changes(tp: string): WindowStateChange[] {
    const state = this.#partitions.get(tp);
    if (!state) return [];
    const changes: WindowStateChange[] = [];
    if (state.timeDirty) changes.push({ id: ['time'], value: state.streamTime });
    for (const id of state.dirty) {
      const [start, key] = parseSlotId(id);
      const slot = state.windows.get(start)?.get(key) as Slot<A>;
      changes.push({ id: ['slot', start, key], value: { v: slot.value, c: slot.count } });
    }
    for (const id of state.closed) {
      const [start, key] = parseSlotId(id);
      changes.push({ id: ['slot', start, key], value: null });
    }
    return changes;
  }

  /** The changes returned by {@link changes} are durable: forget them. */
  checkpointed(tp: string): void {
    const state = this.#partitions.get(tp);
    if (!state) return;
    for (const id of state.dirty) {
      const [start, key] = parseSlotId(id);
      const slot = state.windows.get(start)?.get(key);
      if (slot) slot.stored = true;
    }
    state.dirty.clear();
    state.closed.clear();
    state.timeDirty = false;
  }

  /** True when `tp` has changes not checkpointed yet. */
  dirty(tp: string): boolean {
    const state = this.#partitions.get(tp);
    return state !== undefined && (state.timeDirty || state.dirty.size > 0 || state.closed.size > 0);
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
      let byKey = state.windows.get(start);
      if (!byKey) {
        byKey = new Map();
        state.windows.set(start, byKey);
      }
      byKey.set(key, { value: parsed.data.v as A, count: parsed.data.c, stored: true });
      state.slots++;
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
