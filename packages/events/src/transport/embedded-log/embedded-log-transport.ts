import {
  closeSync,
  fstatSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { encodeFrame, scanFrames } from '../../log/frames.js';
import { decodeRecord, encodeRecord } from '../../log/record.js';
import { optionsError } from '../../util/logger.js';
import type { ConsumedMessage, PartitionOffset, Transport, TransportConsumer, TransportProducer } from '../types.js';

/** Options of {@link embeddedLogTransport}. */
export interface EmbeddedLogTransportOptions {
  /** Directory of the log (required); one folder per topic, one file per partition. */
  dir: string;
  /** Partitions of each topic, chosen by a hash of the key (default 1). Keep it fixed for a directory. */
  partitions?: number | undefined;
  /** fsync every appended batch (default `false`: a process crash loses nothing, a machine crash may). */
  fsync?: boolean | undefined;
  /** How often a consumer looks for new records, in ms (default 20). */
  pollIntervalMs?: number | undefined;
}

const optionsSchema = z.object({
  dir: z
    .string({ error: "dir is required: a directory for the log, e.g. './.events'" })
    .min(1, 'dir must not be empty'),
  partitions: z
    .number()
    .int()
    .min(1, 'partitions must be at least 1')
    .max(1024, 'partitions must be at most 1024')
    .optional(),
  fsync: z.boolean({ error: 'fsync must be true or false' }).optional(),
  pollIntervalMs: z.number().int().positive('pollIntervalMs must be a positive number of ms').optional(),
});

const TOPIC = /^[A-Za-z0-9._-]{1,200}$/;

/** @internal 32-bit FNV-1a, the key → partition hash. */
export function hashKey(key: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/**
 * The embedded default transport: a local, file-backed, partitioned log with
 * Kafka's semantics where the pipeline needs them (offsets, per-key order,
 * committed consumer-group offsets), so an example runs on a laptop with nothing
 * else installed. Offsets are byte positions in a partition file. One consumer
 * per group at a time (no rebalancing). Switching to Kafka is configuration only.
 *
 * @example
 * ```ts
 * const transport = embeddedLogTransport({ dir: './.events' });
 * ```
 */
export function embeddedLogTransport(options: EmbeddedLogTransportOptions): Transport {
  const parsed = optionsSchema.safeParse(options);
  if (!parsed.success) throw optionsError('embeddedLogTransport', parsed.error);
  const { dir } = options;
  const partitions = options.partitions ?? 1;
  const pollIntervalMs = options.pollIntervalMs ?? 20;
  const topicDir = (topic: string) => {
    if (!TOPIC.test(topic)) throw new TypeError(`embedded log: topic '${topic}' must be 1-200 of [A-Za-z0-9._-]`);
    return join(dir, topic);
  };

  const producer = (): TransportProducer => {
    let roundRobin = 0;
    return {
      async connect() {
        mkdirSync(dir, { recursive: true });
      },
      async send(topic, messages) {
        const folder = topicDir(topic);
        mkdirSync(folder, { recursive: true });
        const byPartition = new Map<number, Buffer[]>();
        for (const message of messages) {
          const partition = message.key === null ? roundRobin++ % partitions : hashKey(message.key) % partitions;
          const frames = byPartition.get(partition) ?? [];
          frames.push(
            encodeFrame(
              encodeRecord({
                topic,
                key: message.key,
                value: message.value,
                timestamp: message.timestamp,
                headers: message.headers,
              }),
            ),
          );
          byPartition.set(partition, frames);
        }
        for (const [partition, frames] of byPartition) {
          // One write per batch and partition, O_APPEND: batches of concurrent writers never interleave.
          const fd = openSync(join(folder, `${partition}.log`), 'a');
          try {
            const bytes = Buffer.concat(frames);
            let written = 0;
            while (written < bytes.length) written += writeSync(fd, bytes, written);
            if (options.fsync) fsyncSync(fd);
          } finally {
            closeSync(fd);
          }
        }
      },
      async close() {},
    };
  };

  const consumer = ({ groupId }: { groupId: string }): TransportConsumer => {
    let running = false;
    let stopped: Promise<void> | undefined;
    const offsetsFile = (topic: string) =>
      join(topicDir(topic), `${groupId.replace(/[^A-Za-z0-9._-]/g, '_')}.offsets.json`);
    const metadataFile = (topic: string) =>
      join(topicDir(topic), `${groupId.replace(/[^A-Za-z0-9._-]/g, '_')}.metadata.json`);
    const readOffsets = (topic: string) => readJson<Record<string, number>>(offsetsFile(topic));
    return {
      async run({ topics, fromBeginning, handler, onAssign }) {
        let assigned = '';
        running = true;
        // Next position to read, by `topic/partition`.
        const positions = new Map<string, number>();
        for (const topic of topics) {
          mkdirSync(topicDir(topic), { recursive: true });
          for (const [partition, offset] of Object.entries(readOffsets(topic)))
            positions.set(`${topic}/${partition}`, offset);
        }
        const loop = async () => {
          while (running) {
            let delivered = false;
            const owned = topics.flatMap((topic) =>
              readdirSync(topicDir(topic))
                .filter((f) => /^\d+\.log$/.test(f))
                .map((f) => ({ topic, partition: Number(f.slice(0, -4)) })),
            );
            const signature = JSON.stringify(owned);
            if (onAssign && signature !== assigned) {
              assigned = signature;
              onAssign(owned);
            }
            for (const topic of topics) {
              const folder = topicDir(topic);
              const files = readdirSync(folder).filter((f) => /^\d+\.log$/.test(f));
              for (const file of files) {
                if (!running) return;
                const partition = Number(file.slice(0, -4));
                const id = `${topic}/${partition}`;
                const fd = openSync(join(folder, file), 'r');
                try {
                  const size = fstatSync(fd).size;
                  let position = positions.get(id);
                  if (position === undefined) position = fromBeginning ? 0 : size;
                  positions.set(id, position);
                  if (size <= position) continue;
                  const length = Math.min(size - position, 4 * 1024 * 1024);
                  const buffer = Buffer.allocUnsafe(length);
                  const read = readSync(fd, buffer, 0, length, position);
                  const { frames } = scanFrames(buffer.subarray(0, read));
                  if (frames.length === 0) continue;
                  const messages: ConsumedMessage[] = frames.map((frame) => {
                    const record = decodeRecord(frame.payload);
                    return {
                      topic,
                      partition,
                      offset: String((position as number) + frame.start),
                      key: record.key === null ? null : Buffer.from(record.key, 'utf8'),
                      value: record.value,
                      timestamp: record.timestamp,
                      ...(record.headers ? { headers: record.headers } : {}),
                    };
                  });
                  const last = frames[frames.length - 1];
                  const next = position + (last?.end ?? 0);
                  try {
                    await handler({ topic, partition, messages, lag: size - next > 0 ? undefined : 0 });
                  } catch {
                    // Like a Kafka consumer: the same records are delivered again, after a pause.
                    await sleep(pollIntervalMs * 10);
                    continue;
                  }
                  positions.set(id, next);
                  delivered = true;
                } finally {
                  closeSync(fd);
                }
              }
            }
            if (!delivered) await sleep(pollIntervalMs);
          }
        };
        stopped = loop();
        stopped.catch(() => {});
      },
      async commit(offsets: readonly PartitionOffset[]) {
        const byTopic = new Map<string, PartitionOffset[]>();
        for (const o of offsets) byTopic.set(o.topic, [...(byTopic.get(o.topic) ?? []), o]);
        for (const [topic, list] of byTopic) {
          // Metadata first: after a crash between the two writes it may be ahead of the offsets, never behind.
          if (list.some((o) => o.metadata !== undefined)) {
            const metadata = readJson<Record<string, string>>(metadataFile(topic));
            for (const o of list) if (o.metadata !== undefined) metadata[String(o.partition)] = o.metadata;
            writeAtomically(metadataFile(topic), JSON.stringify(metadata));
          }
          const current = readOffsets(topic);
          for (const o of list) current[String(o.partition)] = Number(o.offset);
          writeAtomically(offsetsFile(topic), JSON.stringify(current));
        }
      },
      async committed(partitions) {
        const result: PartitionOffset[] = [];
        for (const topic of new Set(partitions.map((p) => p.topic))) {
          const offsets = readOffsets(topic);
          const metadata = readJson<Record<string, string>>(metadataFile(topic));
          for (const { partition } of partitions.filter((p) => p.topic === topic)) {
            const offset = offsets[String(partition)];
            if (offset !== undefined) {
              result.push({ topic, partition, offset: String(offset), metadata: metadata[String(partition)] });
            }
          }
        }
        return result;
      },
      async close() {
        running = false;
        await stopped?.catch(() => {});
      },
    };
  };

  return { name: 'embedded-log', producer, consumer };
}

/** A JSON file's content, or `{}` when it does not exist (yet). */
function readJson<T extends object>(file: string): T {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch {
    return {} as T;
  }
}

/** Replaces `file` in one rename, so a reader never sees half of it. */
function writeAtomically(file: string, text: string): void {
  writeFileSync(`${file}.tmp`, text);
  renameSync(`${file}.tmp`, file);
}
