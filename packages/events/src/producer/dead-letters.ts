import { channel } from 'node:diagnostics_channel';
import { setTimeout as sleep } from 'node:timers/promises';
import { DEAD_LETTER_CHANNEL, type DeadLetterMessage } from '../diagnostics/channels.js';
import { isTransportSendError } from '../errors.js';
import type { LogRecord } from '../log/record.js';
import type { DeadLetter, DeadLetterFile } from '../spool/dead-letter.js';
import type { OutgoingMessage, TopicSettings, TransportProducer } from '../transport/types.js';
import type { EventsLogger } from '../util/logger.js';

/**
 * Record headers of an event written to a dead-letter topic: why and where
 * from. The producer's (broker refusals) carry `code`, `reason`, `topic`, `at`,
 * and `event` / `version` when the event could be read; a pipeline's also
 * carry `stage` (`decode` or `process`), `rule` (the rule that failed: a zod
 * issue code such as `invalid_type`, `version-unknown`, `upcast-threw`,
 * `event-unknown`, `not-json`, `processor-threw`) and `field` (e.g.
 * `payload.titleId`, when one is known).
 */
export const DEAD_LETTER_HEADERS = {
  code: 'backlot-dead-letter-code',
  reason: 'backlot-dead-letter-reason',
  topic: 'backlot-dead-letter-topic',
  at: 'backlot-dead-letter-at',
  event: 'backlot-dead-letter-event',
  version: 'backlot-dead-letter-version',
  stage: 'backlot-dead-letter-stage',
  rule: 'backlot-dead-letter-rule',
  field: 'backlot-dead-letter-field',
} as const;

const deadLetterChannel = channel(DEAD_LETTER_CHANNEL);

/** Attempts to write a group of dead letters to the dead-letter topic before they fall back. */
const TOPIC_ATTEMPTS = 3;

/** What {@link DeadLetters} needs from the producer. @internal */
export interface DeadLettersOptions {
  /** The dead-letter topic and its settings, with its own transport producer; none: no topic. */
  readonly topic?: { spec: TopicSettings; producer: TransportProducer } | undefined;
  /** The spool's dead-letter file (the fallback of the topic, or the only store). */
  readonly file?: DeadLetterFile | undefined;
  /** The user's callback, given every refused event. */
  readonly onDeadLetter?: ((letters: readonly DeadLetter[]) => void) | undefined;
  readonly logger: EventsLogger;
}

/** Counters of {@link DeadLetters}. @internal */
export interface DeadLetterCounts {
  /** Events refused for good, in all. */
  deadLettered: number;
  /** Of them, those the dead-letter topic acknowledged. */
  deadLetterPublished: number;
}

/** The id, name and version of an encoded envelope, for logs and dead-letter headers. */
function identityOf(value: Buffer): { id?: string; name?: string; version?: number } {
  try {
    const raw = JSON.parse(value.toString('utf8')) as { id?: unknown; name?: unknown; version?: unknown } | null;
    return {
      ...(typeof raw?.id === 'string' ? { id: raw.id } : {}),
      ...(typeof raw?.name === 'string' ? { name: raw.name } : {}),
      ...(typeof raw?.version === 'number' ? { version: raw.version } : {}),
    };
  } catch {
    return {};
  }
}

/** The event name and version headers of a dead letter, when its value is a readable envelope. */
function identityHeaders(value: Buffer): Record<string, string> {
  const { name, version } = identityOf(value);
  return {
    ...(name ? { [DEAD_LETTER_HEADERS.event]: name } : {}),
    ...(version !== undefined ? { [DEAD_LETTER_HEADERS.version]: String(version) } : {}),
  };
}

/**
 * Where events the broker refused for good go, in this order: the user's
 * `onDeadLetter` callback (always, when given); the dead-letter topic (when
 * configured; written in the background, a few attempts); the spool's
 * dead-letter file (when there is no topic, or it could not take them); and if
 * none of these kept them and there is no callback, they are held for `flush()`
 * to reject with (never only logged). Every group is counted and logged once.
 * @internal
 */
export class DeadLetters {
  readonly counts: DeadLetterCounts = { deadLettered: 0, deadLetterPublished: 0 };
  readonly #options: DeadLettersOptions;
  /** Refused events nothing kept, for `flush()` to reject with. */
  #unclaimed: DeadLetter[] = [];
  /** Writes to the dead-letter topic under way. */
  readonly #writing = new Set<Promise<void>>();
  #topicReady: Promise<void> | undefined;

  constructor(options: DeadLettersOptions) {
    this.#options = options;
  }

  /** Takes refused records (with the broker's code and reason) away from the send path. */
  route(entries: readonly { record: LogRecord; code: string; reason: string }[]): void {
    if (entries.length === 0) return;
    const at = Date.now();
    const letters: DeadLetter[] = entries.map(({ record, code, reason }) => ({
      topic: record.topic,
      key: record.key,
      value: record.value,
      timestamp: record.timestamp,
      code,
      reason,
      deadLetteredAt: at,
      ...(record.headers ? { headers: record.headers } : {}),
    }));
    this.counts.deadLettered += letters.length;
    if (deadLetterChannel.hasSubscribers) deadLetterChannel.publish({ letters } satisfies DeadLetterMessage);
    const { onDeadLetter, topic, logger } = this.#options;
    if (onDeadLetter) {
      try {
        onDeadLetter(letters);
      } catch (error) {
        logger.error({ err: error }, 'event producer: onDeadLetter threw');
      }
    }
    const first = letters[0] as DeadLetter;
    const where = topic ? `dead-letter topic ${topic.spec.topic}` : this.#options.file ? 'dead-letter file' : undefined;
    logger.error(
      {
        deadLettered: letters.length,
        deadLetteredTotal: this.counts.deadLettered,
        topic: first.topic,
        code: first.code,
        reason: first.reason,
        ids: letters.slice(0, 10).map((letter) => identityOf(letter.value).id ?? null),
        to: where ?? (onDeadLetter ? 'onDeadLetter' : 'flush() rejection'),
      },
      `event producer: broker refused event(s) for good (poison): dead-lettered ${where ? `to the ${where}` : '(kept nowhere: see onDeadLetter)'}; the rest flows on`,
    );
    if (topic) {
      const writing = this.#toTopic(topic, letters).finally(() => this.#writing.delete(writing));
      this.#writing.add(writing);
    } else {
      this.#fallBack(letters);
    }
  }

  /** Resolves once every write to the dead-letter topic begun so far has settled. */
  async idle(): Promise<void> {
    while (this.#writing.size > 0) await Promise.all(this.#writing);
  }

  /** Refused events nothing kept since the last call (cleared). */
  takeUnclaimed(): DeadLetter[] {
    const taken = this.#unclaimed;
    this.#unclaimed = [];
    return taken;
  }

  /** Closes the dead-letter topic's producer, once every write has settled. */
  async close(): Promise<void> {
    await this.idle();
    await this.#options.topic?.producer.close();
  }

  async #toTopic(topic: { spec: TopicSettings; producer: TransportProducer }, letters: DeadLetter[]): Promise<void> {
    const messages: OutgoingMessage[] = letters.map((letter) => ({
      key: letter.key,
      value: letter.value,
      timestamp: letter.timestamp,
      headers: {
        // The event's own headers (its trace context) first: a dead-letter consumer can link to its trace.
        ...letter.headers,
        [DEAD_LETTER_HEADERS.code]: letter.code,
        [DEAD_LETTER_HEADERS.reason]: letter.reason,
        [DEAD_LETTER_HEADERS.topic]: letter.topic,
        [DEAD_LETTER_HEADERS.at]: String(letter.deadLetteredAt),
        ...identityHeaders(letter.value),
      },
    }));
    const byMessage = new Map(messages.map((message, index) => [message, letters[index] as DeadLetter]));
    let left = messages;
    let lastError: unknown;
    for (let attempt = 1; attempt <= TOPIC_ATTEMPTS && left.length > 0; attempt++) {
      try {
        this.#topicReady ??= this.#ensureTopic(topic);
        await this.#topicReady;
        const report = await topic.producer.send(topic.spec.topic, left);
        const refused = report ? report.rejected : [];
        const published = left.length - refused.length;
        this.counts.deadLetterPublished += published;
        if (published > 0) {
          this.#options.logger.warn(
            { deadLetterTopic: topic.spec.topic, published, publishedTotal: this.counts.deadLetterPublished },
            'event producer: refused event(s) written to the dead-letter topic',
          );
        }
        if (refused.length > 0) {
          // The dead-letter topic refuses them too (larger than its max.message.bytes?): no use retrying.
          lastError = new Error(`dead-letter topic refused them: ${refused[0]?.code}: ${refused[0]?.reason}`);
          this.#fallBack(refused.map((r) => byMessage.get(r.message) as DeadLetter));
        }
        return;
      } catch (error) {
        lastError = error;
        if (isTransportSendError(error)) {
          // Acknowledged ones are done; refused ones fall back; the unsent are tried again.
          this.counts.deadLetterPublished += left.length - error.unsent.length - error.rejected.length;
          if (error.rejected.length > 0) {
            this.#fallBack(error.rejected.map((r) => byMessage.get(r.message) as DeadLetter));
          }
          left = error.unsent.filter((message) => byMessage.has(message));
        }
        if (attempt < TOPIC_ATTEMPTS) await sleep(200 * 4 ** (attempt - 1));
      }
    }
    if (left.length === 0) return;
    this.#options.logger.error(
      { err: lastError, deadLetterTopic: topic.spec.topic, events: left.length },
      'event producer: could not write to the dead-letter topic; falling back',
    );
    this.#fallBack(left.map((message) => byMessage.get(message) as DeadLetter));
  }

  async #ensureTopic(topic: { spec: TopicSettings; producer: TransportProducer }): Promise<void> {
    try {
      await topic.producer.ensureTopic?.(topic.spec);
    } catch (error) {
      this.#topicReady = undefined;
      throw error;
    }
  }

  /** The spool's dead-letter file; else, without a callback, held for `flush()` to reject with. */
  #fallBack(letters: DeadLetter[]): void {
    const { file, onDeadLetter, logger } = this.#options;
    if (file) {
      try {
        file.append(letters.map(({ code, reason, ...record }) => ({ record, code, reason })));
        return;
      } catch (error) {
        logger.error({ err: error, events: letters.length }, 'event producer: could not write the dead-letter file');
      }
    }
    if (!onDeadLetter) this.#unclaimed.push(...letters);
  }
}
