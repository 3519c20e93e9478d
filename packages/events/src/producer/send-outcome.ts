import { isTransportSendError } from '../errors.js';
import type { RejectedMessage, SendReport, TransportProducer } from '../transport/types.js';
import type { Pending } from './pending.js';

/**
 * @internal What one send of a batch came to: the producer's side of the failure
 * contract of {@link TransportProducer.send}, decoded in one place:
 * - `send` resolved: every record is acknowledged but `rejected` (refused for good);
 * - it rejected with a `TransportSendError`: `unsent` were not acknowledged (sent again
 *   after a backoff), `rejected` were refused for good, the rest was acknowledged;
 * - it rejected with anything else: none was acknowledged.
 */
export type SendOutcome =
  | { readonly ok: true; readonly rejected: readonly RejectedMessage[] }
  | {
      readonly ok: false;
      /** Why the send failed. */
      readonly error: unknown;
      readonly rejected: readonly RejectedMessage[];
      /** The records to send again, in order; those of the batch not listed (nor rejected) were acknowledged. */
      readonly unsent: readonly Pending[];
    };

/**
 * @internal Sends a batch's same-topic runs (a spool batch may span topics) and decodes the
 * answers into one {@link SendOutcome}; never rejects. With `pipelined`, the runs are issued
 * together, in order (a pipelining transport keeps each partition in call order); otherwise
 * one after the other, and the runs after a failed one are not sent.
 */
export async function sendRecords(
  transport: TransportProducer,
  records: readonly Pending[],
  pipelined: boolean,
): Promise<SendOutcome> {
  const runs: [string, readonly Pending[]][] = [];
  let start = 0;
  while (start < records.length) {
    const topic = (records[start] as Pending).topic;
    let end = start + 1;
    while (end < records.length && (records[end] as Pending).topic === topic) end++;
    runs.push([topic, start === 0 && end === records.length ? records : records.slice(start, end)]);
    start = end;
  }
  const rejected: RejectedMessage[] = [];
  const unsent: Pending[] = [];
  let error: unknown;
  // biome-ignore lint/suspicious/noConfusingVoidType: what TransportProducer.send resolves with.
  const take = (run: readonly Pending[], result: PromiseSettledResult<void | SendReport>) => {
    if (result.status === 'fulfilled') {
      if (result.value?.rejected) rejected.push(...result.value.rejected);
      return;
    }
    error ??= result.reason ?? new Error('send failed');
    if (isTransportSendError(result.reason)) {
      // The transport hands back the very records it was given.
      rejected.push(...result.reason.rejected);
      unsent.push(...(result.reason.unsent as Pending[]));
    } else {
      unsent.push(...run);
    }
  };
  if (pipelined) {
    const results = await Promise.allSettled(runs.map(([topic, run]) => transport.send(topic, run)));
    for (const [index, result] of results.entries()) take((runs[index] as [string, Pending[]])[1], result);
  } else {
    for (const [topic, run] of runs) {
      if (error !== undefined) {
        unsent.push(...run);
        continue;
      }
      try {
        take(run, { status: 'fulfilled', value: await transport.send(topic, run) });
      } catch (failure) {
        take(run, { status: 'rejected', reason: failure });
      }
    }
  }
  return error === undefined ? { ok: true, rejected } : { ok: false, error, rejected, unsent };
}
