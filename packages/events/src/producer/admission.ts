import type { Spool } from '../spool/spool.js';
import { settleEmitSpan, settleWhenSpooled } from '../tracing/emit-span.js';
import type { EventsLogger } from '../util/logger.js';
import type { Pending } from './pending.js';
import { RecordQueue } from './record-queue.js';

/** @internal what {@link Admission} needs. */
export interface AdmissionOptions {
  readonly spool: Spool | undefined;
  /** Every event to the spool before `emit` returns. */
  readonly writeThrough: boolean;
  /** Bytes of the memory buffer. */
  readonly bufferBytes: number;
  /** When memory and spool are full: keep the event beyond the bounds, or drop it. */
  readonly overflow: 'block' | 'drop';
  readonly logger: EventsLogger;
  /** Counters it adds to. */
  readonly counts: { spooled: number; dropped: number };
}

/** Where {@link Admission.place} put a record. */
export type Placement = 'memory' | 'spool' | 'held' | 'dropped';

/**
 * @internal Where an accepted event waits for its batch, in one global FIFO
 * order: the memory buffer, then the spool (once memory is full, or while the
 * spool holds anything, or always in `write-through` mode), then `held` beyond
 * the bounds (`overflow: 'block'`), else dropped (`overflow: 'drop'`, counted
 * and logged, at most one line a second).
 */
export class Admission {
  readonly memory = new RecordQueue<Pending>();
  /** Held beyond the bounds by the `block` policy: newer than everything else. */
  readonly held = new RecordQueue<Pending>();
  /**
   * Set while the broker is away or hung: new events go to the spool (crash-safe) even when
   * it holds nothing yet, behind what memory holds.
   */
  outage = false;
  readonly #options: AdmissionOptions;
  #lastDropLog = 0;

  constructor(options: AdmissionOptions) {
    this.#options = options;
  }

  /** Puts a new record where it keeps the order: memory < spool < held. */
  place(record: Pending): Placement {
    const { spool } = this.#options;
    if (this.held.length === 0) {
      if (!this.#spoolFirst() && this.memory.bytes + record.size <= this.#options.bufferBytes) {
        this.memory.push(record);
        return 'memory';
      }
      if (spool?.hasRoom(record.size)) {
        this.#toSpool(spool, record);
        return 'spool';
      }
    }
    if (this.#options.overflow === 'block') {
      this.held.push(record);
      return 'held';
    }
    this.drop(1, 'memory buffer and spool are full');
    if (record.span) settleEmitSpan(record, 'dropped');
    return 'dropped';
  }

  /** Moves held records into memory or the spool as room appears, oldest first. */
  admitHeld(): void {
    const { spool } = this.#options;
    while (this.held.length > 0) {
      const record = this.held.peek() as Pending;
      if (!this.#spoolFirst() && this.memory.bytes + record.size <= this.#options.bufferBytes) {
        this.memory.push(this.held.shift() as Pending);
      } else if (spool?.hasRoom(record.size)) {
        this.#toSpool(spool, this.held.shift() as Pending);
      } else {
        return;
      }
    }
  }

  /** Whether the producer keeps up: memory under half full, nothing held, nothing in the spool. */
  keepingUp(): boolean {
    return (
      this.memory.bytes * 2 < this.#options.bufferBytes &&
      this.held.length === 0 &&
      (this.#options.spool?.pendingRecords ?? 0) === 0
    );
  }

  /** Whether memory is under half full (what `emit` returns when the event went to memory). */
  roomy(): boolean {
    return this.memory.bytes * 2 < this.#options.bufferBytes;
  }

  /** Counts `count` events as lost and logs it (rate-limited to one line a second). */
  drop(count: number, reason: string): void {
    const { counts, logger } = this.#options;
    counts.dropped += count;
    const at = Date.now();
    if (at - this.#lastDropLog >= 1000) {
      this.#lastDropLog = at;
      logger.error({ dropped: count, droppedTotal: counts.dropped, reason }, 'event producer: events dropped');
    }
  }

  #spoolFirst(): boolean {
    const { spool } = this.#options;
    return this.#options.writeThrough || (spool !== undefined && (this.outage || spool.pendingRecords > 0));
  }

  /** Write-through: on disk before `emit` returns. Otherwise group commit, off the caller's path. */
  #toSpool(spool: Spool, record: Pending): void {
    if (this.#options.writeThrough) spool.append([record]);
    else spool.appendSoon([record]);
    this.#options.counts.spooled++;
    if (record.span) settleWhenSpooled([record], spool, this.#options.writeThrough);
  }
}
