import type { Spool } from '../spool/spool.js';
import { settleEmitSpans, settleWhenSpooled } from '../tracing/emit-span.js';
import type { EventsLogger } from '../util/logger.js';
import type { Admission } from './admission.js';
import type { Pending } from './pending.js';
import type { RecordQueue } from './record-queue.js';
import type { Leftovers } from './send-window.js';

/** @internal where a producer's undelivered events are spilled to, and what it counts. */
export interface SpillContext {
  readonly spool: Spool | undefined;
  readonly memory: RecordQueue<Pending>;
  readonly held: RecordQueue<Pending>;
  readonly admission: Admission;
  readonly writeThrough: boolean;
  readonly counts: { spooled: number };
  readonly logger: EventsLogger;
}

/**
 * @internal After a failed send (every send in flight has settled): what is left of the
 * window and the memory buffer go to the front of the spool, so a crash during the outage
 * loses nothing accepted; later events follow them into the spool (group commit) until it
 * drains. A disk that refuses (full) leaves them in memory, in order, to be tried again.
 */
export async function spillAfterFailure(spool: Spool, context: SpillContext, left: Leftovers): Promise<void> {
  const { older, outstanding, fromMemory } = left;
  const drained = context.memory.drain();
  older.push(...drained);
  if (older.length === 0 && outstanding.length === 0) return;
  try {
    await spool.requeue(outstanding, older);
  } catch (error) {
    context.logger.error({ err: error, records: older.length }, 'event producer: could not spill to the spool');
    if (outstanding.length > 0) spool.rewind();
    for (const record of [...fromMemory, ...drained]) context.memory.push(record);
    return;
  }
  context.counts.spooled += fromMemory.length + drained.length;
  settleWhenSpooled(fromMemory, spool, true);
  settleWhenSpooled(drained, spool, true);
  context.logger.warn(
    { spooled: older.length, spoolPending: spool.pendingRecords },
    'event producer: broker unreachable; buffered events are in the spool, new ones follow them there',
  );
}

/**
 * @internal When the broker hangs (a send unanswered for `degradedAfterMs`): what is in memory
 * goes to the front of the spool, so a crash during the hang loses nothing accepted; new events
 * follow it there. The window's batches stay in flight, waiting for their answer (in doubt: sent
 * again as they were, never twice, should they fail). Called only while no spool batch is out of
 * the spool (memory, older than the spool, goes before all of it). A disk that refuses (full)
 * leaves the records in memory, in order.
 */
export async function spillWhileHung(spool: Spool, context: SpillContext): Promise<void> {
  const drained = context.memory.drain();
  if (drained.length === 0) return;
  try {
    await spool.prepend(drained);
  } catch (error) {
    context.logger.error({ err: error, records: drained.length }, 'event producer: could not spill to the spool');
    // New events went to the spool meanwhile (newer): these stay ahead of them, in memory.
    const newer = context.memory.drain();
    for (const record of [...drained, ...newer]) context.memory.push(record);
    return;
  }
  context.counts.spooled += drained.length;
  context.logger.warn(
    { spooled: drained.length, spoolPending: spool.pendingRecords },
    'event producer: broker not answering; buffered events are in the spool, new ones follow them there',
  );
}

/**
 * @internal On close: what is left of the window, the memory buffer and the held events go to
 * the spool (older first, beyond its bound if need be: losing events at shutdown is worse), or,
 * without a spool, are counted as dropped and logged.
 */
export async function spillOnClose(context: SpillContext, left: Leftovers): Promise<void> {
  const { older, outstanding, fromMemory } = left;
  const drained = context.memory.drain();
  older.push(...drained);
  const newer = context.held.drain();
  const count = older.length + newer.length;
  if (count === 0 && outstanding.length === 0) return;
  const { spool } = context;
  if (!spool) {
    context.admission.drop(count, 'closed with undelivered events and no spool');
    for (const lost of [fromMemory, drained, newer]) settleEmitSpans(lost, 'dropped');
    context.logger.error(
      { lost: count },
      'event producer: closed before delivering every event, and no spool is configured',
    );
    return;
  }
  try {
    await spool.requeue(outstanding, older);
    if (context.writeThrough) spool.append(newer);
    else spool.appendSoon(newer);
  } catch (error) {
    context.admission.drop(count, 'closed, and the spool could not take the undelivered events');
    for (const lost of [fromMemory, drained, newer]) settleEmitSpans(lost, 'dropped', error);
    context.logger.error(
      { err: error, lost: count },
      'event producer: could not spool the undelivered events at close',
    );
    return;
  }
  context.counts.spooled += fromMemory.length + drained.length + newer.length;
  settleWhenSpooled(fromMemory, spool, true);
  settleWhenSpooled(drained, spool, true);
  settleWhenSpooled(newer, spool, context.writeThrough);
  if (count === 0) return;
  context.logger.warn(
    { spooled: count },
    'event producer: closed with undelivered events; they are in the spool for the next start',
  );
}
