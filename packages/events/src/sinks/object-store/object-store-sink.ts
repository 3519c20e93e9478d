import { promisify } from 'node:util';
import { gzip as gzipCallback } from 'node:zlib';
import type { ObjectStore } from '@backlot/storage';
import { z } from 'zod';
import { optionsError } from '../../util/logger.js';
import type { RecordPosition, Sink } from '../types.js';

const gzip = promisify(gzipCallback);

/** Options of {@link objectStoreSink}. */
export interface ObjectStoreSinkOptions<T> {
  /** The store to write to, e.g. `createS3Store({ bucket })` from `@backlot/storage` (required). */
  store: ObjectStore;
  /** Key prefix of every object, e.g. `raw/` (default: none). */
  prefix?: string | undefined;
  /** Folder name under the prefix (default: the source topic). */
  name?: string | undefined;
  /** Most records in one object (default 100,000); kept within a consumer batch too. */
  maxRecords?: number | undefined;
  /** Most uncompressed bytes in one object (default 64 MiB; a single larger record gets an object of its own). */
  maxBytes?: number | undefined;
  /** Rotate an object after its first record has waited this long, in ms (default 60,000). */
  maxAgeMs?: number | undefined;
  /** One line of NDJSON per record (default `JSON.stringify`). */
  serialize?: ((value: T) => string) | undefined;
}

const optionsSchema = z.object({
  store: z.custom<ObjectStore>(
    (value) => typeof (value as { put?: unknown } | undefined)?.put === 'function',
    'store is required: an ObjectStore from @backlot/storage, e.g. createS3Store({ bucket })',
  ),
  prefix: z.string({ error: "prefix must be a string such as 'raw/'" }).optional(),
  name: z
    .string()
    .regex(/^[A-Za-z0-9._-]+$/, 'name must be letters, digits, . _ or -')
    .optional(),
  maxRecords: z.number().int().positive('maxRecords must be a positive number of records').optional(),
  maxBytes: z.number().int().positive('maxBytes must be a positive number of bytes').optional(),
  maxAgeMs: z.number().int().positive('maxAgeMs must be a positive number of ms').optional(),
  serialize: z
    .custom<(value: unknown) => string>((v) => typeof v === 'function', 'serialize must be a function')
    .optional(),
});

interface Chunk {
  key: string;
  lines: string[];
  bytes: number;
  firstOffset: string;
  lastOffset: string;
  createdAt: number;
}

const two = (n: number) => String(n).padStart(2, '0');

/**
 * @internal the object key of a chunk: time-partitioned by the first record's
 * event time (UTC), named by source partition and first offset, so a replay
 * from the same committed offset rewrites the same object instead of adding one.
 */
export function objectKeyOf(prefix: string, folder: string, position: RecordPosition): string {
  const date = new Date(position.eventTime);
  const day = `${date.getUTCFullYear()}-${two(date.getUTCMonth() + 1)}-${two(date.getUTCDate())}`;
  return `${prefix}${folder}/date=${day}/hour=${two(date.getUTCHours())}/${folder}+${position.partition}+${position.offset.padStart(20, '0')}.ndjson.gz`;
}

/**
 * A sink that writes batches of records to an object store (S3, filesystem or
 * memory, through `@backlot/storage`) as gzip-compressed newline-delimited JSON,
 * partitioned by event time (`<topic>/date=YYYY-MM-DD/hour=HH/…`) and rotated by
 * record count, bytes or age. Object names come from the source partition and
 * offsets, so after a crash the replayed records overwrite the same objects.
 *
 * @example
 * ```ts
 * const sink = objectStoreSink({ store: createS3Store({ bucket: 'events' }), prefix: 'raw/' });
 * pipeline.events().to(sink);
 * ```
 */
export function objectStoreSink<T>(options: ObjectStoreSinkOptions<T>): Sink<T> {
  const parsed = optionsSchema.safeParse(options);
  if (!parsed.success) throw optionsError('objectStoreSink', parsed.error);
  const { store } = options;
  const prefix = options.prefix ?? '';
  const maxRecords = options.maxRecords ?? 100_000;
  const maxBytes = options.maxBytes ?? 64 * 1024 * 1024;
  const maxAgeMs = options.maxAgeMs ?? 60_000;
  const serialize = options.serialize ?? ((value: T) => JSON.stringify(value));
  /** Open chunks by `topic/partition/hour`. */
  const open = new Map<string, Chunk>();
  /** Chunks that reached a bound, waiting for the next flush (no record is ever added to them). */
  let sealed: Chunk[] = [];

  return {
    name: 'object-store',
    write(value, position) {
      const folder = options.name ?? position.topic;
      const hour = Math.floor(position.eventTime / 3_600_000);
      const id = `${position.topic}/${position.partition}/${hour}`;
      const line = serialize(value);
      const bytes = Buffer.byteLength(line) + 1;
      let chunk = open.get(id);
      // Rotate before the bound is crossed, within a batch too: a chunk never holds more than
      // `maxRecords` records, nor more than `maxBytes` (unless a single record is larger).
      if (chunk && (chunk.lines.length >= maxRecords || chunk.bytes + bytes > maxBytes)) {
        sealed.push(chunk);
        open.delete(id);
        chunk = undefined;
      }
      if (!chunk) {
        chunk = {
          key: objectKeyOf(prefix, folder, position),
          lines: [],
          bytes: 0,
          firstOffset: position.offset,
          lastOffset: position.offset,
          createdAt: Date.now(),
        };
        open.set(id, chunk);
      }
      chunk.lines.push(line);
      chunk.bytes += bytes;
      chunk.lastOffset = position.offset;
    },
    needsFlush() {
      if (sealed.length > 0) return true;
      const now = Date.now();
      for (const chunk of open.values()) {
        if (chunk.lines.length >= maxRecords || chunk.bytes >= maxBytes || now - chunk.createdAt >= maxAgeMs)
          return true;
      }
      return false;
    },
    async flush() {
      const chunks = [...sealed, ...open.values()];
      await Promise.all(
        chunks.map(async (chunk) => {
          const body = await gzip(`${chunk.lines.join('\n')}\n`);
          await store.put(chunk.key, body, {
            contentType: 'application/x-ndjson',
            metadata: {
              'first-offset': chunk.firstOffset,
              'last-offset': chunk.lastOffset,
              records: String(chunk.lines.length),
              'content-encoding': 'gzip',
            },
          });
        }),
      );
      sealed = sealed.filter((chunk) => !chunks.includes(chunk));
      for (const [id, chunk] of open) if (chunks.includes(chunk)) open.delete(id);
    },
  };
}
