import {
  Consumer,
  consumerFetchesChannel,
  consumerGroupChannel,
  type GroupAssignment,
  type Message,
  type MessagesStream,
  MessagesStreamFallbackModes,
  MessagesStreamModes,
} from '@platformatic/kafka';
import { ClosedError } from '../../errors.js';
import type { EventsLogger } from '../../util/logger.js';
import { headersOf } from '../record-headers.js';
import type { ConsumedBatch, ConsumedMessage, PartitionOffset, TransportConsumer } from '../types.js';

/** What a consumer of {@link platformaticKafkaTransport} is built from. @internal */
export interface PlatformaticConsumerSettings {
  brokers: string[];
  clientId: string;
  connectionTimeoutMs: number;
  requestTimeoutMs: number;
  maxWaitTimeMs: number;
  sessionTimeoutMs: number;
  logger: EventsLogger;
}

type RunOptions = Parameters<TransportConsumer['run']>[0];
type Received = Message<Buffer, Buffer, Buffer, Buffer>;
type Stream = MessagesStream<Buffer, Buffer, Buffer, Buffer>;

/** What is read of a traced fetch (`plt:kafka:consumer:fetches`): its connection pool and its response. */
interface FetchTrace {
  client?: unknown;
  options?: { connectionPool?: unknown };
  result?: {
    responses?: {
      topicId: string;
      partitions: {
        partitionIndex: number;
        errorCode: number;
        highWatermark: bigint;
        records?: { firstOffset: bigint; lastOffsetDelta: number }[];
      }[];
    }[];
  };
}

/** Backoff before a failed batch is delivered again, or a failed stream is opened again, in ms. */
const RETRY_MIN_MS = 100;
const RETRY_MAX_MS = 5_000;
const backoff = (attempt: number): number => Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** Math.min(attempt, 16));

/** `topic:partition`, as @platformatic/kafka keys its offset maps. */
const tpKey = (topic: string, partition: number): string => `${topic}:${partition}`;

/** A member of consumer group `groupId` on @platformatic/kafka. @internal */
export function createPlatformaticConsumer(settings: PlatformaticConsumerSettings, groupId: string): TransportConsumer {
  return new PlatformaticConsumer(settings, groupId);
}

/**
 * One `Consumer` (one group membership, classic protocol) and one messages
 * stream over it, read in paused mode: what is buffered is cut into batches
 * per partition, in offset order, and handed to the handler one at a time.
 *
 * - Offsets are committed only by {@link commit} (`autocommit: false`), and
 *   only for partitions this member owns.
 * - A batch whose handler throws is delivered again (backoff) until it
 *   succeeds, its partition is assigned elsewhere, or the consumer closes;
 *   nothing after it in the partition is delivered meanwhile.
 * - While the member rejoins the group (a rebalance), no batch is handed over
 *   and no offset committed; afterwards, batches of partitions it lost, or
 *   fetched before it (re)acquired them, are dropped (their owner reads them
 *   from the committed offset).
 * - Partitions acquired anew start at the group's committed offset (or the
 *   earliest / latest, per `fromBeginning`); partitions kept through a
 *   rebalance go on where the stream was (the library would seek them back to
 *   the committed offset); when the stream fails, a new one resumes them after
 *   the last batch handled.
 * - Lag is the high watermark of the latest fetch minus the next offset.
 */
class PlatformaticConsumer implements TransportConsumer {
  readonly #settings: PlatformaticConsumerSettings;
  readonly #groupId: string;
  #consumer: Consumer<Buffer, Buffer, Buffer, Buffer> | undefined;
  #stream: Stream | undefined;
  #starting: Promise<void> | undefined;
  #loop: Promise<void> | undefined;
  #closed = false;
  #closing: Promise<void> | undefined;
  /** Next offset after the last batch handled, per `topic:partition` owned since. */
  readonly #positions = new Map<string, bigint>();
  /** Next offset after the last message the current stream fetched, per `topic:partition` owned since. */
  readonly #fetched = new Map<string, bigint>();
  /** Generation of the group since which this member owns each `topic:partition`. */
  readonly #ownedSince = new Map<string, number>();
  /** High watermark per `topic:partition`, from the latest fetch. */
  readonly #ends = new Map<string, bigint>();
  /** Topic names by topic id (fetch responses carry ids). */
  readonly #topicNames = new Map<string, string>();
  /** Pending sleeps, cut short by `close()`. */
  readonly #sleepers = new Set<() => void>();
  /** True while this member (re)joins the group: no batch is handed over, no offset committed. */
  #joining = false;
  readonly #joined = new Set<() => void>();
  #woken = false;
  #waiter: (() => void) | undefined;
  readonly #wake = (): void => {
    this.#woken = true;
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.();
  };
  readonly #onJoinStart = (context: unknown): void => {
    const { client, operation } = context as { client?: unknown; operation?: unknown };
    if (client !== undefined && client === this.#consumer && operation === 'joinGroup') this.#joining = true;
  };
  readonly #onJoinEnd = (context: unknown): void => {
    const { client, operation } = context as { client?: unknown; operation?: unknown };
    if (client !== undefined && client === this.#consumer && operation === 'joinGroup') this.#settle();
  };
  /** Runs when a fetch response arrives, before the stream pushes its messages. */
  readonly #onFetch = (context: unknown): void => {
    const { client, options, result } = context as FetchTrace;
    if (client === undefined || client !== this.#consumer || !result?.responses) return;
    const current = this.#stream !== undefined && options?.connectionPool === this.#stream.connections;
    for (const topic of result.responses) {
      const name = this.#topicNames.get(topic.topicId);
      if (name === undefined) continue;
      for (const p of topic.partitions) {
        if (p.errorCode !== 0) continue;
        const key = tpKey(name, p.partitionIndex);
        if (p.highWatermark >= 0n) this.#ends.set(key, p.highWatermark);
        // Where the stream goes on reading this partition (as it computes it).
        const last = p.records?.[p.records.length - 1];
        if (current && last && this.#ownedSince.has(key)) {
          this.#fetched.set(key, last.firstOffset + BigInt(last.lastOffsetDelta) + 1n);
        }
      }
    }
  };

  constructor(settings: PlatformaticConsumerSettings, groupId: string) {
    this.#settings = settings;
    this.#groupId = groupId;
  }

  run(options: RunOptions): Promise<void> {
    if (this.#closed) return Promise.reject(new ClosedError('platformaticKafkaTransport consumer'));
    if (this.#starting) {
      return Promise.reject(new TypeError('platformaticKafkaTransport: run() was already called on this consumer'));
    }
    this.#starting = this.#start(options);
    return this.#starting;
  }

  async #start(options: RunOptions): Promise<void> {
    const { brokers, clientId, connectionTimeoutMs, requestTimeoutMs, maxWaitTimeMs, sessionTimeoutMs } =
      this.#settings;
    const consumer = new Consumer<Buffer, Buffer, Buffer, Buffer>({
      clientId,
      bootstrapBrokers: brokers,
      groupId: this.#groupId,
      autocommit: false,
      autocreateTopics: true,
      connectTimeout: connectionTimeoutMs,
      timeout: requestTimeoutMs,
      maxWaitTime: maxWaitTimeMs,
      sessionTimeout: sessionTimeoutMs,
      rebalanceTimeout: Math.max(60_000, sessionTimeoutMs),
      heartbeatInterval: Math.max(1, Math.min(3_000, Math.floor(sessionTimeoutMs / 3))),
    });
    this.#consumer = consumer;
    consumer.on('consumer:group:join', ({ assignments, generationId }) =>
      this.#assigned(assignments ?? [], generationId ?? 0, options),
    );
    // Emitted when rejoining the group failed for good: a new stream joins again.
    consumer.on('error', (error: Error) => {
      if (this.#closed) return;
      this.#settings.logger.warn(
        { transport: 'platformatic-kafka', groupId: this.#groupId, err: error },
        'platformaticKafkaTransport: rejoining the consumer group failed; reconnecting',
      );
      this.#stream?.destroy();
    });
    consumerFetchesChannel.asyncStart.subscribe(this.#onFetch);
    consumerGroupChannel.start.subscribe(this.#onJoinStart);
    consumerGroupChannel.asyncStart.subscribe(this.#onJoinEnd);
    try {
      // Creates missing topics (as kafkajs's allowAutoTopicCreation) and learns their ids.
      await this.#learnTopics(options.topics);
      await this.#open(options);
    } catch (error) {
      await this.#release();
      throw error;
    }
    this.#loop = this.#dispatch(options);
  }

  async commit(offsets: readonly PartitionOffset[]): Promise<void> {
    const consumer = this.#consumer;
    if (!consumer || this.#closed) return;
    await this.#rejoined();
    // A partition assigned elsewhere meanwhile is its new owner's to commit.
    const owned = offsets.filter((o) => this.#owns(o.topic, o.partition));
    if (owned.length === 0) return;
    await consumer.commit({
      offsets: owned.map((o) => ({
        topic: o.topic,
        partition: o.partition,
        offset: BigInt(o.offset),
        leaderEpoch: -1,
      })),
    });
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#closed = true;
    this.#wake();
    this.#settle();
    for (const sleeper of [...this.#sleepers]) sleeper();
    await this.#starting?.catch(() => {});
    // Waits for the batch in the handler, if any; no other batch is handed over.
    await this.#loop;
    await this.#release();
  }

  /** Closes the stream, leaves the group and closes the connections. */
  async #release(): Promise<void> {
    consumerFetchesChannel.asyncStart.unsubscribe(this.#onFetch);
    consumerGroupChannel.start.unsubscribe(this.#onJoinStart);
    consumerGroupChannel.asyncStart.unsubscribe(this.#onJoinEnd);
    const stream = this.#stream;
    this.#stream = undefined;
    await stream?.close().catch(() => {});
    await this.#consumer?.close(true);
  }

  /** Runs on every (re)join of the group, before the stream seeks to the new assignment's offsets. */
  #assigned(assignments: GroupAssignment[], generation: number, options: RunOptions): void {
    const partitions = assignments.flatMap(({ topic, partitions }) =>
      partitions.map((partition) => ({ topic, partition })),
    );
    const owned = new Set(partitions.map((p) => tpKey(p.topic, p.partition)));
    // Resume positions hold only while this member keeps the partition.
    for (const key of this.#ownedSince.keys()) {
      if (owned.has(key)) continue;
      this.#ownedSince.delete(key);
      this.#positions.delete(key);
      this.#fetched.delete(key);
    }
    for (const key of owned) {
      if (this.#ownedSince.has(key)) continue;
      this.#ownedSince.set(key, generation);
      this.#positions.delete(key);
      this.#fetched.delete(key);
      // The stream keeps the position of an earlier time this member owned the
      // partition; without it, the stream starts at the committed offset (or the fallback).
      this.#stream?.offsetsToFetch.delete(key);
    }
    this.#learnTopics(options.topics).catch(() => {});
    if (!options.onAssign || this.#closed) return;
    try {
      options.onAssign(partitions);
    } catch (error) {
      this.#settings.logger.warn(
        { transport: 'platformatic-kafka', groupId: this.#groupId, err: error },
        'platformaticKafkaTransport: onAssign threw',
      );
    }
  }

  async #learnTopics(topics: readonly string[]): Promise<void> {
    const metadata = await (this.#consumer as Consumer<Buffer, Buffer, Buffer, Buffer>).metadata({
      topics: [...topics],
      autocreateTopics: true,
    });
    for (const [name, topic] of metadata.topics) this.#topicNames.set(topic.id, name);
  }

  #owns(topic: string, partition: number): boolean {
    return this.#consumer?.assignments?.some((a) => a.topic === topic && a.partitions.includes(partition)) ?? false;
  }

  /** Opens a messages stream (joining the group first if needed). */
  async #open({ topics, fromBeginning }: RunOptions): Promise<void> {
    const consumer = this.#consumer as Consumer<Buffer, Buffer, Buffer, Buffer>;
    const stream = await consumer.consume({
      topics: [...topics],
      mode: MessagesStreamModes.COMMITTED,
      fallbackMode: fromBeginning ? MessagesStreamFallbackModes.EARLIEST : MessagesStreamFallbackModes.LATEST,
      autocommit: false,
      maxWaitTime: this.#settings.maxWaitTimeMs,
    });
    // After each (re)assignment the stream seeks to the committed offsets. A
    // partition this member kept goes on instead: after the last message this
    // stream fetched (everything before it is buffered or handled), or, in a
    // new stream, after the last batch handled.
    this.#fetched.clear();
    stream.on('offsets', () => {
      for (const key of this.#ownedSince.keys()) {
        const offset = this.#fetched.get(key) ?? this.#positions.get(key);
        if (offset !== undefined) stream.offsetsToFetch.set(key, offset);
      }
    });
    stream.on('readable', this.#wake);
    stream.on('end', this.#wake);
    stream.on('close', this.#wake);
    stream.on('error', (error: Error) => {
      if (!this.#closed) {
        this.#settings.logger.warn(
          { transport: 'platformatic-kafka', groupId: this.#groupId, err: error },
          'platformaticKafkaTransport: the consumer stream failed; reconnecting',
        );
      }
      this.#wake();
    });
    this.#stream = stream;
  }

  async #dispatch(options: RunOptions): Promise<void> {
    let failures = 0;
    while (!this.#closed) {
      const stream = this.#stream;
      if (!stream || stream.destroyed || stream.readableEnded) {
        this.#stream = undefined;
        await stream?.close().catch(() => {});
        await this.#sleep(backoff(failures++));
        if (this.#closed) break;
        try {
          await this.#open(options);
          failures = 0;
        } catch (error) {
          this.#settings.logger.warn(
            { transport: 'platformatic-kafka', groupId: this.#groupId, err: error },
            'platformaticKafkaTransport: could not reopen the consumer stream; retrying',
          );
        }
        continue;
      }
      this.#woken = false;
      const received: Received[] = [];
      for (let m = stream.read() as Received | null; m !== null; m = stream.read() as Received | null) received.push(m);
      if (received.length === 0) {
        await this.#idle();
        continue;
      }
      for (const batch of toBatches(received)) {
        // A replaced stream's leftovers are read again by the new one.
        if (this.#closed || this.#stream !== stream) break;
        await this.#deliver(batch, options.handler);
      }
    }
  }

  /**
   * True while this member owns the batch's partition and the batch was fetched
   * since it does: a batch fetched before the partition was (re)acquired is stale.
   */
  #current(batch: Batch): boolean {
    const since = this.#ownedSince.get(tpKey(batch.topic, batch.partition));
    return since !== undefined && batch.generation >= since && this.#owns(batch.topic, batch.partition);
  }

  /** Hands `batch` to the handler until it succeeds, the partition moves to another member, or `close()`. */
  async #deliver(batch: Batch, handler: RunOptions['handler']): Promise<void> {
    const { topic, partition, messages } = batch;
    const key = tpKey(topic, partition);
    const next = BigInt((messages[messages.length - 1] as ConsumedMessage).offset) + 1n;
    for (let attempt = 0; ; attempt++) {
      // During a rebalance the partition may already be another member's: wait for the new assignment.
      await this.#rejoined();
      if (this.#closed || !this.#current(batch)) return;
      const end = this.#ends.get(key);
      try {
        await handler({
          topic,
          partition,
          messages,
          lag: end === undefined ? undefined : Number(end > next ? end - next : 0n),
        });
      } catch (error) {
        this.#settings.logger.warn(
          {
            transport: 'platformatic-kafka',
            groupId: this.#groupId,
            topic,
            partition,
            offset: messages[0]?.offset,
            attempt: attempt + 1,
            err: error,
          },
          'platformaticKafkaTransport: the batch handler failed; delivering the batch again',
        );
        await this.#sleep(backoff(attempt));
        continue;
      }
      if (this.#current(batch)) this.#positions.set(key, next);
      return;
    }
  }

  /** Resolves once this member is not (re)joining the group, or is closed. */
  #rejoined(): Promise<void> {
    if (!this.#joining || this.#closed) return Promise.resolve();
    return new Promise((resolve) => {
      this.#joined.add(resolve);
    });
  }

  #settle(): void {
    this.#joining = false;
    for (const resolve of this.#joined) resolve();
    this.#joined.clear();
  }

  #idle(): Promise<void> {
    if (this.#woken || this.#closed) return Promise.resolve();
    return new Promise((resolve) => {
      this.#waiter = resolve;
    });
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#sleepers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#sleepers.add(done);
    });
  }
}

/** The group generation a message was fetched in (@platformatic/kafka stamps it in `metadata.consumer`). */
function generationOf(m: Received): number {
  const generation = (m.metadata?.consumer as { generationId?: unknown } | undefined)?.generationId;
  return typeof generation === 'number' ? generation : Number.POSITIVE_INFINITY;
}

/** Messages of one partition in increasing offset order, and the oldest group generation they were fetched in. */
interface Batch extends Omit<ConsumedBatch, 'lag'> {
  messages: ConsumedMessage[];
  generation: number;
}

/** Cuts messages into batches per partition, each in increasing offset order (a seek back starts a new batch). */
function toBatches(received: readonly Received[]): Batch[] {
  const batches: (Batch & { last: bigint })[] = [];
  const open = new Map<string, (typeof batches)[number]>();
  for (const m of received) {
    const key = tpKey(m.topic, m.partition);
    let batch = open.get(key);
    if (!batch || m.offset <= batch.last) {
      batch = { topic: m.topic, partition: m.partition, messages: [], generation: generationOf(m), last: -1n };
      open.set(key, batch);
      batches.push(batch);
    }
    batch.generation = Math.min(batch.generation, generationOf(m));
    batch.messages.push({
      topic: m.topic,
      partition: m.partition,
      offset: m.offset.toString(),
      key: (m.key as Buffer | undefined) ?? null,
      value: (m.value as Buffer | undefined) ?? null,
      timestamp: Number(m.timestamp),
      ...headersOf(m.headers),
    });
    batch.last = m.offset;
  }
  return batches.map(({ last: _, ...batch }) => batch);
}
