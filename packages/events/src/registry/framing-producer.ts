import { isTransportSendError, TransportSendError } from '../errors.js';
import type { OutgoingMessage, RejectedMessage, SendReport, TransportProducer } from '../transport/types.js';
import type { RegistryEncoder } from './encoder.js';
import { isRegistryError } from './errors.js';

const codeOf = (error: unknown): string => {
  const code = (error as { code?: unknown } | null | undefined)?.code;
  return typeof code === 'string' ? code : 'BACKLOT_EVENTS_REGISTRY_BAD_FRAME';
};
const reasonOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/**
 * @internal A transport producer that frames each record in the Confluent wire format just
 * before it is sent, so that memory and spool keep plain envelopes and a registry outage is
 * one more send failure: nothing is acknowledged, the producer keeps the events (memory, then
 * spool) and sends them again after a backoff. A record whose schema the registry refuses for
 * good is reported as rejected, with the registry error's code, and dead-lettered unframed.
 * Every outcome names the records as they were given (the producer matches them by identity).
 *
 * With several sends outstanding (`pipelining`), the sends reach the inner transport in the
 * order they were called (a later batch, whose schema id is cached, waits for an earlier one
 * still asking the registry), and once framing failed, later sends are refused until `resume()`:
 * the transport contract that keeps each partition in order.
 */
export function framingProducer(inner: TransportProducer, encoder: RegistryEncoder): TransportProducer {
  /** Settles once the previous send has handed its records to the inner transport (or failed). */
  let gate: Promise<void> = Promise.resolve();
  let failed: unknown;

  // biome-ignore lint/suspicious/noConfusingVoidType: what TransportProducer.send resolves with.
  async function send(topic: string, messages: readonly OutgoingMessage[]): Promise<void | SendReport> {
    const previous = gate;
    let release = () => {};
    gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const originals = new Map<OutgoingMessage, OutgoingMessage>();
    const rejected: RejectedMessage[] = [];
    // biome-ignore lint/suspicious/noConfusingVoidType: what TransportProducer.send resolves with.
    let sent: Promise<void | SendReport> | undefined;
    try {
      const toSend: OutgoingMessage[] = [];
      let error: unknown;
      for (const message of messages) {
        try {
          const out = await encoder.frame(topic, message);
          originals.set(out, message);
          toSend.push(out);
        } catch (failure) {
          // Unreachable registry: the whole send fails, none is acknowledged, all are sent again later.
          if (isRegistryError(failure) && failure.retryable) {
            error = failure;
            break;
          }
          // Anything else cannot succeed by trying again (a refused schema, an event the catalogue
          // no longer has, replayed from an older spool): that record is refused, the rest flows on.
          rejected.push({ message, code: codeOf(failure), reason: reasonOf(failure) });
        }
      }
      await previous;
      if (error !== undefined) failed ??= error;
      if (failed !== undefined) throw error ?? failed;
      if (toSend.length > 0) sent = inner.send(topic, toSend);
    } finally {
      release();
    }
    const original = (message: OutgoingMessage) => originals.get(message) ?? message;
    const back = (list: readonly RejectedMessage[]) => list.map((r) => ({ ...r, message: original(r.message) }));
    let report: SendReport | undefined;
    try {
      report = (await sent) ?? undefined;
    } catch (error) {
      if (!isTransportSendError(error)) throw error;
      throw new TransportSendError(error.message, error.unsent.map(original), [...rejected, ...back(error.rejected)], {
        cause: error,
      });
    }
    const all = [...rejected, ...back(report?.rejected ?? [])];
    return all.length === 0 ? undefined : { rejected: all };
  }

  const framed: TransportProducer = {
    pipelining: inner.pipelining,
    connect: () => inner.connect(),
    send,
    resume: () => {
      failed = undefined;
      inner.resume?.();
    },
    close: () => inner.close(),
  };
  if (inner.maxMessageBytes) {
    framed.maxMessageBytes = (topic) => inner.maxMessageBytes?.(topic) ?? Promise.resolve(undefined);
  }
  if (inner.ensureTopic) framed.ensureTopic = (spec) => inner.ensureTopic?.(spec) ?? Promise.resolve();
  return framed;
}
