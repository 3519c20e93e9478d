import { TransportSendError } from '../errors.js';
import { DeliveredLedger } from './delivered-ledger.js';
import { chunkByBytes, groupByPartition } from './partitioning.js';
import { brokerErrorName, failureKind, isUnknownTopic, UNKNOWN_TOPIC } from './send-failure.js';
import type { OutgoingMessage, RejectedMessage, SendReport } from './types.js';

/** One idempotent connection of a Kafka transport: one request in flight, in order. @internal */
export interface Lane<M> {
  /**
   * Sends `messages` of `topic` (each given its partition, or none) and resolves once the broker
   * acknowledged them. After a failure other than a `producer` one (see {@link failureKind}) the
   * lane keeps its producer id and sequence numbers (moved on only by acknowledgements), so the
   * same messages of a partition sent again as one batch are de-duplicated by the broker when it
   * had written them; after a `producer` failure it starts over with a new producer id.
   */
  send(topic: string, messages: M[]): Promise<void>;
}

/** What {@link createLaneSender} needs from a Kafka client. @internal */
export interface LaneSenderOptions<M> {
  readonly lanes: readonly Lane<M>[];
  /** Asks the broker for the topic's partition count (0 or a rejection: not known yet). Cached by the sender. */
  fetchPartitions(topic: string): Promise<number>;
  /** Asks the broker for the topic's `max.message.bytes` (undefined or a rejection: not known). Cached by the sender. */
  fetchMaxMessageBytes?(topic: string): Promise<number | undefined>;
  /** The client's message for `message`, on `partition` (`undefined`: the client's own partitioner). */
  encode(topic: string, message: OutgoingMessage, partition: number | undefined): M;
  /** Bytes of a message (key and value) as `maxRequestBytes` counts them. */
  sizeOf(message: M): number;
  /** Most bytes in one produce request; a larger part goes out as several, one after the other. */
  readonly maxRequestBytes: number;
  /**
   * The partitions of `topic` that a failed `Lane.send` nevertheless delivered *and*
   * counted (the client moved their sequence numbers on, e.g. a request to another
   * broker that succeeded): they are never sent again. Partitions not listed are sent
   * again exactly as they were, which the broker de-duplicates if it had accepted them.
   * Optional: without it, every partition of a refused request is sent again.
   */
  acknowledgedPartitions?(error: unknown, topic: string): ReadonlySet<number> | undefined;
}

/** The sending half shared by the Kafka transports. @internal */
export interface LaneSender {
  /**
   * Sends one batch of `topic`; resolves when every message is acknowledged or refused for good
   * (reported), rejects with a {@link TransportSendError} naming what was not acknowledged. Calls may overlap.
   */
  send(topic: string, messages: readonly OutgoingMessage[]): Promise<SendReport | undefined>;
  /** Lets the lanes send again after a failure (every earlier send has settled). */
  resume(): void;
  /** The largest record `topic` accepts (its `max.message.bytes`), cached; Kafka's default when unknown. */
  maxMessageBytes(topic: string): Promise<number>;
}

const noop = () => {};

/** How long a topic's partition count and size limit are trusted before they are fetched again, in ms. */
const METADATA_MAX_AGE_MS = 60_000;

/**
 * Sends to a topic the broker does not know (and does not create) before it is
 * declared missing: its messages are then refused for good (`UNKNOWN_TOPIC_OR_PARTITION`)
 * instead of being retried as an outage. @internal
 */
export const UNKNOWN_TOPIC_ATTEMPTS = 3;

/** Least time a topic must stay unknown (auto-creation takes a moment) before it is declared missing, in ms. @internal */
export const UNKNOWN_TOPIC_MIN_MS = 1000;

/** Kafka's default `message.max.bytes` / `max.message.bytes` (1 MiB + 12). @internal */
export const DEFAULT_MAX_MESSAGE_BYTES = 1_048_588;

/** Bytes a record adds to its batch beyond key and value (varints, attributes, headers), counted generously. @internal */
export const RECORD_OVERHEAD_BYTES = 32;

/** Bytes of a record batch's header (and a compression frame), counted generously. @internal */
export const BATCH_OVERHEAD_BYTES = 256;

/** A message on its way: what the producer gave, and what the client sends. */
interface Entry<M> {
  readonly out: OutgoingMessage;
  readonly msg: M;
  readonly partition: number | undefined;
}

/**
 * Whether the broker may have written a request that failed with `error`: after an outage
 * (no answer, a cut connection, or an error for some of its partitions), yes; after a
 * `producer` failure the lane has a new producer id and the broker can no longer tell; a
 * topic it does not know was not written.
 */
const inDoubtAfter = (error: unknown): boolean => failureKind(error) === 'outage' && !isUnknownTopic(error);

/** What a lane's send settled: acknowledged or refused for good (`settled`), of which refused (`refused`, reported in `rejected`). */
interface Settled<M> {
  readonly settled: Set<Entry<M>>;
  readonly refused: Set<Entry<M>>;
  readonly rejected: RejectedMessage[];
}

/** Why a lane's part was not wholly delivered: what it did not deliver, and what it refused for good. */
class PartFailure<M> {
  readonly cause: unknown;
  readonly unsent: readonly Entry<M>[];
  readonly rejected: readonly RejectedMessage[];

  constructor(cause: unknown, unsent: readonly Entry<M>[], rejected: readonly RejectedMessage[]) {
    this.cause = cause;
    this.unsent = unsent;
    this.rejected = rejected;
  }
}

const reasonOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** The parts of one lane, run one after the other in the order they were queued. */
class LaneQueue<M> {
  #tail: Promise<unknown> = Promise.resolve();
  /** Why a part failed here; later parts are refused until `resume()`. */
  failure: unknown;
  /**
   * The request this lane sent when an outage cut it off before the broker's answer: the broker
   * may have written it. It is sent again exactly (same partition batches, so the same producer
   * id and sequence numbers) before anything else, and the broker de-duplicates it if so.
   */
  inDoubt: { topic: string; entries: Entry<M>[] } | undefined;

  enqueue<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#tail.then(task);
    this.#tail = run.catch(noop);
    return run;
  }
}

/**
 * Sends batches over several idempotent connections ("lanes"), each partition
 * always over the same one (`partition % lanes`), so a batch's partitions are
 * compressed and acknowledged in parallel. Sends may overlap (the producer's
 * pipelining): every lane works through its parts in the order the sends were
 * issued, so each partition receives batches in emit order. Once a part fails,
 * its lane refuses every later part until `resume()`: no later batch overtakes
 * a failed one while the producer backs off and sends it again.
 * @internal
 */
export function createLaneSender<M>(options: LaneSenderOptions<M>): LaneSender {
  const { lanes, maxRequestBytes } = options;
  const queues = lanes.map(() => new LaneQueue<M>());
  /** What lanes delivered while settling a request in doubt, claimed by the producer's copies sent again. */
  const delivered = new DeliveredLedger();
  const roundRobin = { next: 0 };
  const partitionCounts = new Map<string, { count: number; at: number }>();
  const sizeLimits = new Map<string, { bytes: number; at: number }>();

  /** The topic's partition count, or `undefined` when the broker does not know the topic yet. */
  const partitionsOf = async (topic: string): Promise<number | undefined> => {
    const cached = partitionCounts.get(topic);
    if (cached && Date.now() - cached.at < METADATA_MAX_AGE_MS) return cached.count;
    try {
      const count = await options.fetchPartitions(topic);
      if (count === 0) return undefined;
      partitionCounts.set(topic, { count, at: Date.now() });
      return count;
    } catch {
      return undefined;
    }
  };

  /** Lookups under way, shared by concurrent callers (the producer's `emit` check and the sends). */
  const sizeLookups = new Map<string, Promise<number>>();
  const maxMessageBytes = (topic: string): Promise<number> => {
    const cached = sizeLimits.get(topic);
    if (cached && Date.now() - cached.at < METADATA_MAX_AGE_MS) return Promise.resolve(cached.bytes);
    const running = sizeLookups.get(topic);
    if (running) return running;
    const lookup = (async () => {
      let bytes: number | undefined;
      try {
        bytes = await options.fetchMaxMessageBytes?.(topic);
      } catch {
        bytes = undefined;
      }
      if (bytes === undefined || !(bytes > 0)) return cached?.bytes ?? DEFAULT_MAX_MESSAGE_BYTES;
      sizeLimits.set(topic, { bytes, at: Date.now() });
      return bytes;
    })().finally(() => sizeLookups.delete(topic));
    sizeLookups.set(topic, lookup);
    return lookup;
  };

  // Partition lookups resolve in the order sends were issued, so parts reach the lanes in that order.
  let intake: Promise<void> = Promise.resolve();

  const refused = (queue: LaneQueue<M>) =>
    new Error('not sent: an earlier batch failed on this connection and will be sent again first', {
      cause: queue.failure,
    });

  const entrySize = (entry: Entry<M>) => options.sizeOf(entry.msg) + RECORD_OVERHEAD_BYTES;

  /**
   * Sends one chunk over a lane. A chunk the broker refuses for its records is split: first
   * into its partitions (each sent again exactly as it was in the refused request, so the
   * broker de-duplicates a partition it had accepted), then a refused partition in halves,
   * down to the single records that are refused for good. Throws on an outage, with what was
   * settled so far in `done`.
   */
  const deliver = async (lane: Lane<M>, topic: string, chunk: Entry<M>[], done: Settled<M>): Promise<void> => {
    const send = async (entries: Entry<M>[]) => {
      await lane.send(
        topic,
        entries.map((entry) => entry.msg),
      );
      for (const entry of entries) done.settled.add(entry);
    };
    const reject = (entries: readonly Entry<M>[], error: unknown) => {
      const code = brokerErrorName(error) ?? 'UNKNOWN';
      for (const entry of entries) {
        done.settled.add(entry);
        done.refused.add(entry);
        done.rejected.push({ message: entry.out, code, reason: reasonOf(error) });
      }
    };
    /** Sends `entries` (one partition's, or a part of them); on a record failure, halves until the refused ones are alone. */
    const bisect = async (entries: Entry<M>[]): Promise<void> => {
      try {
        await send(entries);
      } catch (error) {
        if (failureKind(error) !== 'record') throw error;
        if (entries.length === 1) {
          reject(entries, error);
          return;
        }
        const half = Math.ceil(entries.length / 2);
        await bisect(entries.slice(0, half));
        await bisect(entries.slice(half));
      }
    };
    try {
      await send(chunk);
    } catch (error) {
      const kind = failureKind(error);
      if (kind === 'topic') {
        reject(chunk, error);
        return;
      }
      // Records refused, on known partitions: isolate them. Otherwise (an outage, or a topic the
      // client partitions itself) the chunk is sent again later as it is.
      if (kind !== 'record' || chunk.some((entry) => entry.partition === undefined)) throw error;
      if (chunk.length === 1) {
        reject(chunk, error);
        return;
      }
      const byPartition = new Map<number, Entry<M>[]>();
      for (const entry of chunk) {
        const group = byPartition.get(entry.partition as number);
        if (group) group.push(entry);
        else byPartition.set(entry.partition as number, [entry]);
      }
      const acknowledged = options.acknowledgedPartitions?.(error, topic);
      for (const [partition, group] of byPartition) {
        // Delivered and counted by the client despite the failure: sending it again would write it twice.
        if (acknowledged?.has(partition)) for (const entry of group) done.settled.add(entry);
        else await bisect(group);
      }
    }
  };

  /** Sends a lane's part, chunk by chunk (see {@link deliver}); an outage leaves the chunk under way in doubt. */
  const sendPart = async (
    index: number,
    topic: string,
    part: Entry<M>[],
    requestBytes: number,
  ): Promise<RejectedMessage[]> => {
    const queue = queues[index] as LaneQueue<M>;
    const lane = lanes[index] as Lane<M>;
    if (queue.failure !== undefined) throw new PartFailure(refused(queue), part, []);
    const done: Settled<M> = { settled: new Set(), refused: new Set(), rejected: [] };
    let current: Entry<M>[] = [];
    try {
      for (const chunk of chunkByBytes(part, requestBytes, entrySize)) {
        current = chunk;
        await deliver(lane, topic, chunk, done);
      }
    } catch (error) {
      queue.failure ??= error;
      // The broker may have written what was under way: it is settled before anything else is sent.
      // After a `producer` failure the lane has a new producer id: what was under way cannot be settled.
      const unsettled = current.filter((entry) => !done.settled.has(entry));
      if (inDoubtAfter(error) && unsettled.length > 0) queue.inDoubt = { topic, entries: unsettled };
      throw new PartFailure(
        error,
        part.filter((entry) => !done.settled.has(entry)),
        done.rejected,
      );
    }
    return done.rejected;
  };

  /**
   * Sends again, exactly, the request each lane had under way when an outage cut it off
   * (lanes whose failure was not yet `resume()`d wait). What the broker acknowledges now is
   * noted in the ledger; resolves with the first outage that left a request in doubt, if any.
   */
  const settleDoubts = async (): Promise<unknown> => {
    const settling: Promise<void>[] = [];
    for (const [index, queue] of queues.entries()) {
      if (queue.inDoubt === undefined || queue.failure !== undefined) continue;
      settling.push(
        queue.enqueue(async () => {
          const doubt = queue.inDoubt;
          if (doubt === undefined) return;
          const done: Settled<M> = { settled: new Set(), refused: new Set(), rejected: [] };
          try {
            await deliver(lanes[index] as Lane<M>, doubt.topic, doubt.entries, done);
            queue.inDoubt = undefined;
          } catch (error) {
            queue.failure ??= error;
            const unsettled = doubt.entries.filter((entry) => !done.settled.has(entry));
            // A `producer` failure: the lane starts over with a new producer id; the broker can no longer tell.
            queue.inDoubt =
              inDoubtAfter(error) && unsettled.length > 0 ? { topic: doubt.topic, entries: unsettled } : undefined;
            throw error;
          } finally {
            // Refused for good now (a poison record): not written; sent again, the producer's copy is isolated the same way.
            delivered.add(
              doubt.topic,
              doubt.entries.filter((entry) => done.settled.has(entry) && !done.refused.has(entry)).map((e) => e.out),
            );
          }
        }),
      );
    }
    if (settling.length === 0) return undefined;
    const results = await Promise.allSettled(settling);
    return results.find((result) => result.status === 'rejected')?.reason;
  };

  /** Runs `task` once every lane finished its earlier parts; later parts wait for it (a topic not known yet). */
  const acrossLanes = (task: () => Promise<RejectedMessage[]>, all: Entry<M>[]): Promise<RejectedMessage[]> => {
    let arrived = 0;
    let open = noop;
    const everyLaneHere = new Promise<void>((resolve) => {
      open = resolve;
    });
    const run = everyLaneHere.then(async () => {
      const failed = queues.find((queue) => queue.failure !== undefined);
      if (failed) throw new PartFailure(refused(failed), all, []);
      try {
        return await task();
      } catch (error) {
        const cause = error instanceof PartFailure ? error.cause : error;
        for (const queue of queues) queue.failure ??= cause;
        throw error;
      }
    });
    for (const queue of queues) {
      queue.enqueue(async () => {
        if (++arrived === queues.length) open();
        await run;
      });
    }
    return run;
  };

  const place = (
    topic: string,
    messages: readonly OutgoingMessage[],
    partitions: number | undefined,
    limit: number,
  ): Promise<SendReport | undefined> => {
    // A request never carries more than the topic accepts in one record batch.
    const requestBytes = Math.max(1, Math.min(maxRequestBytes, limit - BATCH_OVERHEAD_BYTES));
    if (partitions === undefined) {
      // Unknown topic: one connection, the client's partitioner (the same murmur2) and its topic auto-creation.
      const all = messages.map((out) => ({ out, msg: options.encode(topic, out, undefined), partition: undefined }));
      return settle(messages, [acrossLanes(() => sendPart(0, topic, all, requestBytes), all)]);
    }
    const parts: Entry<M>[][] = lanes.map(() => []);
    for (const [partition, group] of groupByPartition(messages, partitions, roundRobin)) {
      const part = parts[partition % lanes.length] as Entry<M>[];
      for (const out of group) part.push({ out, msg: options.encode(topic, out, partition), partition });
    }
    const sent: Promise<RejectedMessage[]>[] = [];
    for (const [index, part] of parts.entries()) {
      if (part.length > 0) {
        sent.push((queues[index] as LaneQueue<M>).enqueue(() => sendPart(index, topic, part, requestBytes)));
      }
    }
    return settle(messages, sent);
  };

  /**
   * Resolves when every part is acknowledged (reporting what was refused for good); rejects,
   * after all settled, with a {@link TransportSendError} naming every message not acknowledged.
   */
  const settle = async (
    messages: readonly OutgoingMessage[],
    sent: Promise<RejectedMessage[]>[],
  ): Promise<SendReport | undefined> => {
    const results = await Promise.allSettled(sent);
    const rejected: RejectedMessage[] = [];
    const unsent = new Set<OutgoingMessage>();
    let cause: unknown;
    for (const result of results) {
      if (result.status === 'fulfilled') {
        rejected.push(...result.value);
        continue;
      }
      const failure = result.reason as unknown;
      if (failure instanceof PartFailure) {
        cause ??= failure.cause;
        rejected.push(...failure.rejected);
        for (const entry of failure.unsent) unsent.add(entry.out);
      } else {
        // Not from a lane (a bug): nothing is known to be acknowledged.
        cause ??= failure;
        for (const message of messages) unsent.add(message);
      }
    }
    if (cause !== undefined) {
      throw new TransportSendError(
        `send failed: ${reasonOf(cause)}`,
        messages.filter((message) => unsent.has(message)),
        rejected,
        { cause },
      );
    }
    return rejected.length > 0 ? { rejected } : undefined;
  };

  /** Topics the broker answered "unknown" for: since when, and how many sends in a row. */
  const unknownTopics = new Map<string, { since: number; attempts: number }>();
  const missing = (topic: string): boolean => {
    const seen = unknownTopics.get(topic);
    return (
      seen !== undefined && seen.attempts >= UNKNOWN_TOPIC_ATTEMPTS && Date.now() - seen.since >= UNKNOWN_TOPIC_MIN_MS
    );
  };
  /** A topic that stayed unknown through the bounded create/metadata attempts: its messages are refused for good. */
  const refuseMissing = (topic: string, messages: readonly OutgoingMessage[]): SendReport => {
    const attempts = unknownTopics.get(topic)?.attempts ?? 0;
    const reason = `topic ${topic} does not exist and was not created after ${attempts} attempts (is auto-creation off? create it first)`;
    return { rejected: messages.map((message) => ({ message, code: UNKNOWN_TOPIC, reason })) };
  };

  return {
    send(topic, given) {
      let done: Promise<SendReport | undefined> = Promise.resolve(undefined);
      const placed = intake.then(async () => {
        // A request an outage left in doubt goes first, exactly as it was; until the broker
        // answers it, nothing else is sent.
        const doubtful = await settleDoubts();
        if (doubtful !== undefined) {
          throw new TransportSendError(`send failed: ${reasonOf(doubtful)}`, given, [], { cause: doubtful });
        }
        // What settling delivered is acknowledged, not written again.
        const messages = delivered.claim(topic, given);
        if (messages.length === 0) return;
        const [partitions, limit] = await Promise.all([partitionsOf(topic), maxMessageBytes(topic)]);
        if (partitions !== undefined) unknownTopics.delete(topic);
        else if (missing(topic)) {
          // Still unknown after a fresh metadata request: refused, not sent (and not retried).
          done = Promise.resolve(refuseMissing(topic, messages));
          return;
        }
        done = place(topic, messages, partitions, limit).then(
          (report) => {
            // A record refused for its size: the topic's limit may have changed, read it again.
            if (report) sizeLimits.delete(topic);
            return report;
          },
          (error: unknown) => {
            if (partitions === undefined && isUnknownTopic(error)) {
              const seen = unknownTopics.get(topic);
              if (seen) seen.attempts++;
              else unknownTopics.set(topic, { since: Date.now(), attempts: 1 });
            }
            // The partition count (or the size limit) may have changed: fetch them again next time.
            partitionCounts.delete(topic);
            sizeLimits.delete(topic);
            throw error;
          },
        );
      });
      intake = placed.catch(noop);
      return placed.then(() => done);
    },
    resume() {
      for (const queue of queues) queue.failure = undefined;
    },
    maxMessageBytes,
  };
}
