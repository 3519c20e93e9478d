import type { Spool, SpoolBatch } from '../spool/spool.js';
import { type Pending, pending } from './pending.js';
import type { RecordQueue } from './record-queue.js';

/** @internal a batch to send: same-topic records from memory, or a spool batch (which may span topics). */
export interface Batch {
  topic: string;
  records: Pending[];
  from: 'memory' | 'spool';
  /** The spool batch it was read as (acknowledged in the spool once sent). */
  spoolBatch?: SpoolBatch | undefined;
}

/** @internal what {@link Batcher} takes batches from, and their bounds. */
export interface BatcherOptions {
  readonly memory: RecordQueue<Pending>;
  readonly spool: Spool | undefined;
  /** Most events in a batch. */
  readonly maxEvents: number;
  /** Most encoded bytes in a batch (one larger event goes alone). */
  readonly maxBytes: number;
  /** How long the oldest event may wait for company, in ms. */
  readonly lingerMs: number;
}

/**
 * @internal Cuts batches: from memory first (they are older than anything
 * spooled after them), one topic at a time, bounded by `maxEvents` and
 * `maxBytes`; else the next batch of the spool.
 */
export class Batcher {
  readonly #options: BatcherOptions;

  constructor(options: BatcherOptions) {
    this.#options = options;
  }

  /** The next batch, or undefined when nothing is ready to be read. */
  take(): Batch | undefined {
    const { memory, spool, maxEvents, maxBytes } = this.#options;
    const first = memory.peek();
    if (first) {
      const records: Pending[] = [];
      let bytes = 0;
      for (let next = memory.peek(); next; next = memory.peek()) {
        if (next.topic !== first.topic || records.length >= maxEvents) break;
        // `batch.maxBytes` counts encoded events (as the broker sees them), not the buffer's bookkeeping.
        if (records.length > 0 && bytes + next.value.length > maxBytes) break;
        records.push(memory.shift() as Pending);
        bytes += next.value.length;
      }
      return { topic: first.topic, records, from: 'memory' };
    }
    if (!spool || spool.pendingRecords === 0) return undefined;
    // Read ahead off the emit path: nothing yet means the read is under way (`spool.readable()` wakes the sender).
    const batch = spool.readReady(maxEvents, maxBytes);
    if (!batch) return undefined;
    // A spool batch may span topics; it is sent in same-topic runs (acknowledged together).
    return {
      topic: batch.records[0]?.topic ?? 'events',
      records: batch.records.map(pending),
      from: 'spool',
      spoolBatch: batch,
    };
  }

  /** Whether memory holds a full batch. */
  full(): boolean {
    const { memory, maxEvents, maxBytes } = this.#options;
    return memory.length >= maxEvents || memory.bytes >= maxBytes;
  }

  /** Whether a new batch should start now (full, lingered long enough, flushing, or replaying the spool). */
  ready(flushing: boolean, now: number): boolean {
    const { memory, spool, lingerMs } = this.#options;
    const oldest = memory.peek();
    const spooled = (spool?.pendingRecords ?? 0) > 0;
    if (!oldest) return spooled;
    return flushing || lingerMs === 0 || this.full() || spooled || oldest.timestamp + lingerMs <= now;
  }
}
