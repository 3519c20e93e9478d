import { EventTooLargeError } from '../errors.js';
import type { LogRecord } from '../log/record.js';
import { BATCH_OVERHEAD_BYTES, DEFAULT_MAX_MESSAGE_BYTES, RECORD_OVERHEAD_BYTES } from '../transport/lane-sender.js';
import type { TransportProducer } from '../transport/types.js';

/** How long a topic's size limit is trusted before it is asked again, in ms. */
const LIMIT_MAX_AGE_MS = 60_000;

/** A record's size as the broker counts it against `max.message.bytes`, counted generously. */
export function recordBytes(record: LogRecord): number {
  return (
    record.value.length +
    (record.key === null ? 0 : Buffer.byteLength(record.key)) +
    RECORD_OVERHEAD_BYTES +
    BATCH_OVERHEAD_BYTES
  );
}

/**
 * @internal Each topic's largest record (`max.message.bytes`), as the transport
 * reports it (asked in the background, again every minute; Kafka's default until
 * known), and lowered at once when the broker refuses a record as too large.
 */
export class TopicSizeLimits {
  readonly #transport: Pick<TransportProducer, 'maxMessageBytes'>;
  readonly #now: () => number;
  readonly #limits = new Map<string, { bytes: number; at: number }>();
  readonly #lookups = new Set<string>();

  constructor(transport: Pick<TransportProducer, 'maxMessageBytes'>, now: () => number = Date.now) {
    this.#transport = transport;
    this.#now = now;
  }

  /** The topic's limit as last known (looked up in the background when unknown or old). */
  limitOf(topic: string): number {
    const known = this.#limits.get(topic);
    if (!known || this.#now() - known.at > LIMIT_MAX_AGE_MS) this.lookUp(topic);
    return known?.bytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  }

  /**
   * Throws {@link EventTooLargeError} for a record larger than its topic accepts:
   * it could never be delivered (a poison event).
   */
  check(eventName: string, record: LogRecord): void {
    const limit = this.limitOf(record.topic);
    // Cheap bound first (a key's UTF-8 is at most 3 bytes per UTF-16 unit): most events are far below it.
    const keyBound = (record.key?.length ?? 0) * 3;
    if (record.value.length + keyBound + RECORD_OVERHEAD_BYTES + BATCH_OVERHEAD_BYTES <= limit) return;
    const bytes = recordBytes(record);
    if (bytes > limit) throw new EventTooLargeError(eventName, record.topic, bytes, limit);
  }

  /** The broker refused `record` as too large: later ones as large are refused at once; the exact limit is asked. */
  refused(record: LogRecord): void {
    const known = this.#limits.get(record.topic)?.bytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    this.#limits.set(record.topic, { bytes: Math.min(known, recordBytes(record) - 1), at: this.#now() });
    this.lookUp(record.topic);
  }

  /** Asks the transport for the topic's limit in the background (once at a time per topic). */
  lookUp(topic: string): void {
    const ask = this.#transport.maxMessageBytes;
    if (!ask || this.#lookups.has(topic)) return;
    this.#lookups.add(topic);
    ask
      .call(this.#transport, topic)
      .then(
        (bytes) => {
          if (bytes !== undefined && bytes > 0) this.#limits.set(topic, { bytes, at: this.#now() });
        },
        () => {},
      )
      .finally(() => this.#lookups.delete(topic));
  }
}
