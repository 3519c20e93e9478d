import type { SpoolBatch } from '../spool/spool.js';
import type { RejectedMessage } from '../transport/types.js';
import type { Batch, Batcher } from './batching.js';
import type { Pending } from './pending.js';
import type { SendOutcome } from './send-outcome.js';

/** @internal a batch in the send window. */
export interface InFlight extends Batch {
  /**
   * Its send: settles with `undefined` once acknowledged, or with why it failed (never rejects);
   * after a failure `records` keeps only what was not acknowledged. Unset: not sent (yet, or again).
   */
  result?: Promise<unknown> | undefined;
  /** Why its last send failed, once settled. */
  error?: unknown;
  /** Set once its send settled with every record acknowledged (or refused for good). */
  acknowledged?: boolean;
}

/** @internal what is left of the window when it is emptied: see {@link SendWindow.drain}. */
export interface Leftovers {
  /** The records still to send, oldest first. */
  readonly older: Pending[];
  /** The spool batches among the window's (to be replaced in the spool by what is left of them). */
  readonly outstanding: SpoolBatch[];
  /** The part of `older` that came from memory. */
  readonly fromMemory: Pending[];
  /** Batches acknowledged while an older one failed: done, to be counted as sent. */
  readonly acknowledged: InFlight[];
}

/** @internal what a {@link SendWindow} sends, and whom it tells. */
export interface SendWindowOptions {
  readonly batcher: Batcher;
  /** Batches in flight at once (the transport's pipelining; 1 without `resume`). */
  readonly maxInFlight: number;
  /** Sends records; never rejects. */
  send(records: readonly Pending[]): Promise<SendOutcome>;
  /** Records the broker refused for good: never sent again. */
  onRejected(rejected: readonly RejectedMessage[]): void;
  /** Records of a failed batch acknowledged nevertheless: never sent again. */
  onPartlySent(records: readonly Pending[], from: Batch['from']): void;
  /** A batch was taken from the batcher (memory was freed). */
  onTaken(): void;
}

/**
 * @internal The in-flight send window: up to `maxInFlight` batches sent and not yet
 * acknowledged, oldest first. When the oldest fails, {@link failed} stops new sends and
 * waits for every send to settle; after the backoff, {@link resume} sends the failed
 * ones again, in order, before any new batch, so nothing overtakes them.
 */
export class SendWindow {
  readonly #options: SendWindowOptions;
  #inflight: InFlight[] = [];
  /** Set between a failed send and the resend of the failed batches: no new batch starts. */
  #backingOff = false;

  constructor(options: SendWindowOptions) {
    this.#options = options;
  }

  /** Batches in the window. */
  get size(): number {
    return this.#inflight.length;
  }

  /** The oldest batch in the window. */
  get head(): InFlight | undefined {
    return this.#inflight[0];
  }

  /** (Re)starts sends up to the window: batches to send again first, in order, then new ones. */
  fill(flushing: boolean, now: number): void {
    if (this.#backingOff) return;
    for (const batch of this.#inflight) if (!batch.result) this.#start(batch);
    const { batcher, maxInFlight } = this.#options;
    while (this.#inflight.length < maxInFlight && batcher.ready(flushing, now)) {
      const batch = batcher.take();
      if (!batch) break;
      this.#inflight.push(batch);
      this.#start(batch);
      this.#options.onTaken();
    }
  }

  /** Removes the oldest batch (once acknowledged). */
  shift(): InFlight | undefined {
    return this.#inflight.shift();
  }

  /** After the oldest batch failed: stops new sends, waits for every send to settle, and returns the failed ones. */
  async failed(): Promise<InFlight[]> {
    this.#backingOff = true;
    await Promise.all(this.#inflight.map((batch) => batch.result));
    return this.#inflight.filter((batch) => batch.error !== undefined);
  }

  /** After the backoff: the failed batches are sent again by the next {@link fill}, before anything new. */
  resume(failed: readonly InFlight[]): void {
    for (const batch of failed) batch.result = undefined;
    this.#backingOff = false;
  }

  /**
   * Empties the window: what is left to send of its batches, oldest first (one whose send has
   * not settled is kept whole), the spool batches among them, and those acknowledged meanwhile.
   */
  drain(): Leftovers {
    const left: Leftovers = { older: [], outstanding: [], fromMemory: [], acknowledged: [] };
    for (const batch of this.#inflight) {
      if (batch.from === 'spool' && batch.spoolBatch) left.outstanding.push(batch.spoolBatch);
      if (batch.acknowledged) {
        left.acknowledged.push(batch);
        continue;
      }
      left.older.push(...batch.records);
      if (batch.from === 'memory') left.fromMemory.push(...batch.records);
    }
    this.#inflight = [];
    return left;
  }

  /** Whether a batch of the window was read from the spool (handed out, not yet acknowledged there). */
  hasSpoolBatch(): boolean {
    return this.#inflight.some((batch) => batch.from === 'spool');
  }

  /** Records in the window that came from memory. */
  recordsFromMemory(): number {
    let count = 0;
    for (const batch of this.#inflight) if (batch.from === 'memory') count += batch.records.length;
    return count;
  }

  #start(batch: InFlight): void {
    batch.error = undefined;
    batch.acknowledged = false;
    batch.result = this.#options.send(batch.records).then((outcome) => this.#settle(batch, outcome));
  }

  /** Applies a send's outcome to its batch: refused records go, only what is left to send stays. */
  #settle(batch: InFlight, outcome: SendOutcome): unknown {
    if (outcome.rejected.length > 0) this.#options.onRejected(outcome.rejected);
    if (outcome.ok || outcome.unsent.length === 0) {
      if (outcome.rejected.length > 0) {
        const refused = new Set(outcome.rejected.map((r) => r.message));
        batch.records = batch.records.filter((record) => !refused.has(record));
      }
      batch.acknowledged = true;
      return undefined;
    }
    // Acknowledged parts are done (never sent again); the batch keeps only what is left to send.
    const left = new Set<Pending>(outcome.unsent);
    const acknowledged = batch.records.filter((record) => !left.has(record));
    if (acknowledged.length > 0) {
      const refused = new Set(outcome.rejected.map((r) => r.message));
      this.#options.onPartlySent(
        acknowledged.filter((record) => !refused.has(record)),
        batch.from,
      );
    }
    batch.records = [...outcome.unsent];
    batch.error = outcome.error ?? new Error('send failed');
    return batch.error;
  }
}
