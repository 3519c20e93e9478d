import { chunkByBytes, groupByPartition } from './partitioning.js';
import type { OutgoingMessage } from './types.js';

/** One idempotent connection of a Kafka transport: one request in flight, in order. @internal */
export interface Lane<M> {
  /** Sends `messages` of `topic` (each given its partition, or none) and resolves once the broker acknowledged them. */
  send(topic: string, messages: M[]): Promise<void>;
}

/** What {@link createLaneSender} needs from a Kafka client. @internal */
export interface LaneSenderOptions<M> {
  readonly lanes: readonly Lane<M>[];
  /** Asks the broker for the topic's partition count (0 or a rejection: not known yet). Cached by the sender. */
  fetchPartitions(topic: string): Promise<number>;
  /** The client's message for `message`, on `partition` (`undefined`: the client's own partitioner). */
  encode(topic: string, message: OutgoingMessage, partition: number | undefined): M;
  /** Bytes of a message (key and value) as `maxRequestBytes` counts them. */
  sizeOf(message: M): number;
  /** Most bytes in one produce request; a larger part goes out as several, one after the other. */
  readonly maxRequestBytes: number;
}

/** The sending half shared by the Kafka transports. @internal */
export interface LaneSender {
  /** Sends one batch of `topic`; resolves when every message is acknowledged. Calls may overlap. */
  send(topic: string, messages: readonly OutgoingMessage[]): Promise<void>;
  /** Lets the lanes send again after a failure (every earlier send has settled). */
  resume(): void;
}

const noop = () => {};

/** How long a topic's partition count is trusted before it is fetched again, in ms. */
const METADATA_MAX_AGE_MS = 60_000;

/** The parts of one lane, run one after the other in the order they were queued. */
class LaneQueue {
  #tail: Promise<unknown> = Promise.resolve();
  /** Why a part failed here; later parts are refused until `resume()`. */
  failure: unknown;

  enqueue(task: () => Promise<void>): Promise<void> {
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
  const queues = lanes.map(() => new LaneQueue());
  const roundRobin = { next: 0 };
  const partitionCounts = new Map<string, { count: number; at: number }>();

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
  // Partition lookups resolve in the order sends were issued, so parts reach the lanes in that order.
  let intake: Promise<void> = Promise.resolve();

  const refused = (queue: LaneQueue) =>
    new Error('not sent: an earlier batch failed on this connection and will be sent again first', {
      cause: queue.failure,
    });

  const sendPart = async (index: number, topic: string, part: M[]): Promise<void> => {
    const queue = queues[index] as LaneQueue;
    if (queue.failure !== undefined) throw refused(queue);
    try {
      for (const chunk of chunkByBytes(part, maxRequestBytes, options.sizeOf)) {
        await (lanes[index] as Lane<M>).send(topic, chunk);
      }
    } catch (error) {
      queue.failure ??= error;
      throw error;
    }
  };

  /** Runs `task` once every lane finished its earlier parts; later parts wait for it (a topic not known yet). */
  const acrossLanes = (task: () => Promise<void>): Promise<void> => {
    let arrived = 0;
    let open = noop;
    const everyLaneHere = new Promise<void>((resolve) => {
      open = resolve;
    });
    const run = everyLaneHere.then(async () => {
      const failed = queues.find((queue) => queue.failure !== undefined);
      if (failed) throw refused(failed);
      try {
        await task();
      } catch (error) {
        for (const queue of queues) queue.failure ??= error;
        throw error;
      }
    });
    for (const queue of queues) {
      queue.enqueue(() => {
        if (++arrived === queues.length) open();
        return run;
      });
    }
    return run;
  };

  const place = (topic: string, messages: readonly OutgoingMessage[], partitions: number | undefined) => {
    if (partitions === undefined) {
      // Unknown topic: one connection, the client's partitioner (the same murmur2) and its topic auto-creation.
      const all = messages.map((m) => options.encode(topic, m, undefined));
      return acrossLanes(() => sendPart(0, topic, all));
    }
    const parts: M[][] = lanes.map(() => []);
    for (const [partition, group] of groupByPartition(messages, partitions, roundRobin)) {
      const part = parts[partition % lanes.length] as M[];
      for (const m of group) part.push(options.encode(topic, m, partition));
    }
    const sent: Promise<void>[] = [];
    for (const [index, part] of parts.entries()) {
      if (part.length > 0) sent.push((queues[index] as LaneQueue).enqueue(() => sendPart(index, topic, part)));
    }
    return settle(sent);
  };

  /** Resolves when every part is acknowledged; rejects (after all settled) with the first failure. */
  const settle = async (sent: Promise<void>[]): Promise<void> => {
    const results = await Promise.allSettled(sent);
    const failed = results.find((result) => result.status === 'rejected');
    if (failed) throw failed.reason;
  };

  return {
    send(topic, messages) {
      let done: Promise<void> = Promise.resolve();
      const placed = intake
        .then(() => partitionsOf(topic))
        .then((partitions) => {
          done = place(topic, messages, partitions).catch((error: unknown) => {
            // The partition count may have changed: fetch it again next time.
            partitionCounts.delete(topic);
            throw error;
          });
        });
      intake = placed.catch(noop);
      return placed.then(() => done);
    },
    resume() {
      for (const queue of queues) queue.failure = undefined;
    },
  };
}
