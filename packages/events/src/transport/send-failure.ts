/**
 * How a failed send is handled, decided in one place for every Kafka client:
 * - `outage`: the broker is unreachable, slow or failing; the same messages may
 *   succeed later, so they are kept and sent again after a backoff;
 * - `record`: the broker refused the records themselves (too large, invalid,
 *   corrupt); sending them again can never succeed, so the offending ones are
 *   isolated and dead-lettered, and the rest flows on;
 * - `topic`: the topic refuses every record (not authorised, invalid name,
 *   policy); its messages are dead-lettered rather than retried forever;
 * - `producer`: the broker no longer accepts the connection's producer id or
 *   sequence numbers (out of order, unknown producer id, fenced epoch); the
 *   connection starts over with a new producer id, and the messages are sent
 *   again after a backoff, like an outage's.
 * @internal
 */
export type FailureKind = 'outage' | 'record' | 'topic' | 'producer';

/** Kafka error names (the protocol's, as kafkajs and @platformatic/kafka spell them) of each non-retriable kind. */
const RECORD_ERRORS = new Set([
  'MESSAGE_TOO_LARGE',
  'RECORD_LIST_TOO_LARGE',
  'INVALID_RECORD',
  'CORRUPT_MESSAGE',
  'INVALID_TIMESTAMP',
  'UNSUPPORTED_COMPRESSION_TYPE',
]);
const TOPIC_ERRORS = new Set([
  'TOPIC_AUTHORIZATION_FAILED',
  'CLUSTER_AUTHORIZATION_FAILED',
  'INVALID_TOPIC_EXCEPTION',
  'POLICY_VIOLATION',
  'INVALID_REQUIRED_ACKS',
]);

const PRODUCER_ERRORS = new Set([
  'OUT_OF_ORDER_SEQUENCE_NUMBER',
  'UNKNOWN_PRODUCER_ID',
  'INVALID_PRODUCER_EPOCH',
  'INVALID_PRODUCER_ID_MAPPING',
  'PRODUCER_FENCED',
]);

/** Every Kafka error name carried by `error` or its causes (kafkajs: `type`; @platformatic/kafka: `apiId`), outermost first. */
function errorNames(error: unknown): string[] {
  const names: string[] = [];
  const seen = new Set<unknown>();
  const queue: unknown[] = [error];
  while (queue.length > 0) {
    const current = queue.shift();
    if (typeof current !== 'object' || current === null || seen.has(current)) continue;
    seen.add(current);
    const candidate = current as {
      type?: unknown;
      apiId?: unknown;
      cause?: unknown;
      originalError?: unknown;
      errors?: unknown;
    };
    for (const name of [candidate.type, candidate.apiId]) if (typeof name === 'string') names.push(name);
    queue.push(candidate.cause, candidate.originalError);
    if (Array.isArray(candidate.errors)) queue.push(...candidate.errors);
  }
  return names;
}

/** The non-retriable Kafka error name carried by `error` or one of its causes, if any. */
export function brokerErrorName(error: unknown): string | undefined {
  return errorNames(error).find((name) => RECORD_ERRORS.has(name) || TOPIC_ERRORS.has(name));
}

/** Kafka's name for "this topic does not exist here" (in a metadata or produce response). */
export const UNKNOWN_TOPIC = 'UNKNOWN_TOPIC_OR_PARTITION';

/**
 * Whether `error` says the topic does not exist. Retriable at first (a topic being
 * created answers so for a moment); the lane sender turns it into a `topic` failure
 * once the topic stayed unknown through its bounded create/metadata attempts.
 */
export function isUnknownTopic(error: unknown): boolean {
  return errorNames(error).includes(UNKNOWN_TOPIC);
}

/** Classifies a failed send; anything not known to be permanent is an `outage` (kept and retried). @internal */
export function failureKind(error: unknown): FailureKind {
  const name = brokerErrorName(error);
  if (name === undefined) return errorNames(error).some((each) => PRODUCER_ERRORS.has(each)) ? 'producer' : 'outage';
  return RECORD_ERRORS.has(name) ? 'record' : 'topic';
}
