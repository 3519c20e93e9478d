import { createHash } from 'node:crypto';
import type { types } from 'cassandra-driver';
import type { z } from 'zod';
import type { CallOptions } from '../core/types.js';
import { decodeRecord, validateRecord } from '../kv/records.js';
import type { CassandraSession } from './session.js';

/** One entry of a time series partition. */
export interface SeriesEntry<T> {
  /** The partition (e.g. a profile id). */
  key: string;
  /** When the entry happened (millisecond precision). */
  at: Date;
  /** Unique id of the entry (a time-based UUID): two entries at the same instant are both kept. */
  id: string;
  /** The entry, validated by the series' schema. */
  value: T;
}

/** Options of {@link TimeSeries.append}. */
export interface SeriesAppendOptions extends CallOptions {
  /** When the entry happened (default: now). */
  at?: Date | undefined;
  /** The entry expires after this many seconds (Cassandra TTL); default: never. */
  ttlSeconds?: number | undefined;
  /**
   * A stable id of what the entry records (e.g. the id of the event it came
   * from): appends with the same `key`, `at` and `dedupeKey` write the same
   * row, so a replayed event is kept once. Default: none (every append is a
   * new entry, even at the same instant).
   */
  dedupeKey?: string | undefined;
}

/** Options of {@link TimeSeries.latest}. */
export interface SeriesReadOptions extends CallOptions {
  /** Entries per page, newest first (default 20, at most 10000). */
  limit?: number | undefined;
  /** The `nextPage` of a previous page, to continue after it. */
  page?: string | undefined;
}

/** A page of a time series partition, newest first. */
export interface SeriesPage<T> {
  /** The entries of this page, newest first. */
  entries: SeriesEntry<T>[];
  /** Pass as `page` for the next (older) entries; `undefined` when there are none. */
  nextPage: string | undefined;
}

/**
 * A wide-row time series: many partitions (one per key, e.g. viewing history
 * per profile), each a list of entries kept newest first by Cassandra's
 * clustering order, so "the latest N" is one sequential read.
 */
export interface TimeSeries<T> {
  /** The series' name. */
  readonly name: string;
  /** Validates and appends an entry; a retried append writes the same row (idempotent). @throws {ValidationError} */
  append(key: string, value: T, options?: SeriesAppendOptions): Promise<SeriesEntry<T>>;
  /** The newest entries of a partition, a page at a time. */
  latest(key: string, options?: SeriesReadOptions): Promise<SeriesPage<T>>;
  /** Every entry of a partition, newest first, one page in memory at a time. */
  entries(key: string, options?: Omit<SeriesReadOptions, 'page'>): AsyncIterable<SeriesEntry<T>>;
  /** Deletes a whole partition. */
  deletePartition(key: string, options?: CallOptions): Promise<void>;
}

interface Row {
  seq: types.TimeUuid;
  value: string;
}

/** Milliseconds from the start of the Gregorian calendar (a time UUID's epoch) to 1970. */
const GREGORIAN_TO_UNIX_MS = 12_219_292_800_000;
/**
 * The last millisecond a time UUID's 60-bit timestamp holds with all of its
 * 10 000 sub-millisecond ticks (in 5236): ⌊(2⁶⁰ − 10 000) / 10 000⌋ − 1582's
 * offset. The millisecond after it holds only some ticks, and the driver
 * wraps the others to 1582.
 */
const LAST_TIME_UUID_MS = 115_292_150_460_683 - GREGORIAN_TO_UNIX_MS;

/**
 * @internal The millisecond of a version-1 UUID (the `at` it was made from):
 * its 60-bit count of 100-ns intervals since 1582, divided by 10 000 exactly
 * in doubles (split as high·2³² + low, with 2³² = 429 496·10 000 + 7 296),
 * without the driver's Long arithmetic.
 */
export function timeUuidMillis(bytes: Uint8Array): number {
  const low =
    (bytes[0] as number) * 2 ** 24 + ((bytes[1] as number) << 16) + ((bytes[2] as number) << 8) + (bytes[3] as number);
  const high =
    ((bytes[6] as number) & 0x0f) * 2 ** 24 +
    ((bytes[7] as number) << 16) +
    ((bytes[4] as number) << 8) +
    (bytes[5] as number);
  return high * 429_496 + Math.floor((high * 7_296 + low) / 10_000) - GREGORIAN_TO_UNIX_MS;
}

const MAX_TTL = 630_720_000; // Cassandra's limit: 20 years.
/** The driver's default `fetchSize`: a read of more rows than this needs its own. */
const DRIVER_FETCH_SIZE = 5000;

/** A `nextPage`: the last entry's time (epoch milliseconds) and time-based UUID. */
const PAGE = /^(-?\d{1,16})_([0-9a-f]{8}-[0-9a-f]{4}-1[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12})$/;

function parseTimeUuid(TimeUuid: typeof types.TimeUuid, text: string): types.TimeUuid | undefined {
  try {
    return TimeUuid.fromString(text);
  } catch {
    return undefined;
  }
}

/**
 * The time-based UUID of an entry at `at`: random node and clock bits, or,
 * with a `dedupeKey`, bits derived from it (SHA-256), so the same key and
 * instant give the same UUID.
 */
function seqOf(TimeUuid: typeof types.TimeUuid, at: Date, dedupeKey: string | undefined): types.TimeUuid {
  if (dedupeKey === undefined) return TimeUuid.fromDate(at);
  const digest = createHash('sha256').update(dedupeKey).digest();
  // 100-ns ticks within the millisecond (0-9999), 6 bytes of node id, 2 bytes of clock sequence.
  return TimeUuid.fromDate(at, digest.readUInt16BE(0) % 10_000, digest.subarray(2, 8), digest.subarray(8, 10));
}

/** @internal A time series in the series table, partitioned by (series, key), clustered by (at DESC, seq DESC). */
export function createTimeSeries<T>(
  session: CassandraSession,
  TimeUuid: typeof types.TimeUuid,
  name: string,
  schema: z.ZodType<T>,
): TimeSeries<T> {
  const table = `${session.options.keyspace}.${session.options.seriesTable}`;
  const insert = `INSERT INTO ${table} (series, pkey, at, seq, value) VALUES (?, ?, ?, ?, ?) USING TTL ?`;
  // A page is one `LIMIT` read (what a hand-written query does), from the top of the partition or after
  // the last entry of the previous page: the cursor is that entry's clustering key, not a driver paging state.
  // `at` is not read: an entry's time UUID is made from the same `at` (to the millisecond), so it is
  // computed from `seq` — 8 bytes less per row, and no timestamp decoding through the driver's Long.
  const selectFirst = `SELECT seq, value FROM ${table} WHERE series = ? AND pkey = ? LIMIT ?`;
  const selectAfter = `SELECT seq, value FROM ${table} WHERE series = ? AND pkey = ? AND (at, seq) < (?, ?) LIMIT ?`;
  const drop = `DELETE FROM ${table} WHERE series = ? AND pkey = ?`;
  const check = (key: string) => {
    if (typeof key !== 'string' || key.length === 0)
      throw new TypeError(`${name}: partition keys must be non-empty strings`);
    return `${name}/${key}`;
  };
  const toEntry = (key: string, row: Row): SeriesEntry<T> => {
    const id = row.seq.toString();
    const at = new Date(timeUuidMillis(row.seq.getBuffer()));
    return { key, at, id, value: decodeRecord(() => `${name}/${key}@${id}`, row.value, schema) };
  };
  const afterOf = (page: string): [Date, types.TimeUuid] => {
    const match = typeof page === 'string' ? PAGE.exec(page) : null;
    const seq = match ? parseTimeUuid(TimeUuid, match[2] as string) : undefined;
    if (!match || !seq)
      throw new TypeError(`${name}: page must be the nextPage of a previous latest() call (or left out: the newest)`);
    return [new Date(Number(match[1])), seq];
  };
  const limitOf = (limit: number | undefined) => {
    const n = limit ?? 20;
    if (!Number.isInteger(n) || n < 1 || n > 10_000)
      throw new TypeError(`${name}: limit must be an integer from 1 to 10000`);
    return n;
  };

  const series: TimeSeries<T> = {
    name,

    async append(key, value, options) {
      const path = check(key);
      const valid = validateRecord(path, value, 'write', schema);
      const at = options?.at ?? new Date();
      const ms = at instanceof Date ? at.getTime() : Number.NaN;
      if (!(ms >= -GREGORIAN_TO_UNIX_MS && ms <= LAST_TIME_UUID_MS)) {
        throw new TypeError(`${name}: at must be a valid Date from 1582-10-15 to 5236 (what a time UUID holds)`);
      }
      const ttl = options?.ttlSeconds ?? 0;
      if (!Number.isInteger(ttl) || ttl < 0 || ttl > MAX_TTL) {
        throw new TypeError(`${name}: ttlSeconds must be an integer from 1 to ${MAX_TTL} (or left out: no expiry)`);
      }
      const dedupeKey = options?.dedupeKey;
      if (dedupeKey !== undefined && (typeof dedupeKey !== 'string' || dedupeKey.length === 0)) {
        throw new TypeError(`${name}: dedupeKey must be a non-empty string (e.g. the event id), or left out`);
      }
      const seq = seqOf(TimeUuid, at, dedupeKey);
      await session.execute('append', insert, [name, key, at, seq, JSON.stringify(valid), ttl], {
        signal: options?.signal,
        idempotent: true,
      });
      return { key, at, id: seq.toString(), value: valid };
    },

    async latest(key, options) {
      check(key);
      const limit = limitOf(options?.limit);
      // LIMIT bounds the rows; a fetch size is needed only above the driver's default page (5000 rows).
      const call = {
        signal: options?.signal,
        idempotent: true,
        fetchSize: limit > DRIVER_FETCH_SIZE ? limit : undefined,
      };
      const result =
        options?.page === undefined
          ? await session.execute('latest', selectFirst, [name, key, limit], call)
          : await session.execute('latest', selectAfter, [name, key, ...afterOf(options.page), limit], call);
      const rows = result.rows as unknown as Row[];
      const entries = rows.map((row) => toEntry(key, row));
      const last = entries[limit - 1];
      // A full page may have a next one (possibly empty), as with a driver paging state.
      return { entries, nextPage: last ? `${last.at.getTime()}_${last.id}` : undefined };
    },

    async *entries(key, options) {
      let page: string | undefined;
      do {
        const result = await series.latest(key, { ...options, page });
        yield* result.entries;
        page = result.nextPage;
      } while (page);
    },

    async deletePartition(key, options) {
      check(key);
      await session.execute('delete partition', drop, [name, key], { ...options, idempotent: true });
    },
  };
  return series;
}
