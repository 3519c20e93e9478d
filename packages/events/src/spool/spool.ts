import {
  closeSync,
  existsSync,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { SpoolLockedError } from '../errors.js';
import { encodeFrame, FRAME_HEADER, scanFrames } from '../log/frames.js';
import { decodeRecord, encodeRecord, type LogRecord } from '../log/record.js';
import { type EventsLogger, silentLogger } from '../util/logger.js';

/** @internal options of {@link Spool.open}. */
export interface SpoolConfig {
  dir: string;
  maxBytes: number;
  segmentBytes: number;
  fsync: boolean;
  logger?: EventsLogger | undefined;
}

/** @internal position just past a batch handed out by {@link Spool.read}. */
export interface SpoolBatch {
  records: LogRecord[];
  bytes: number;
  /** @internal */
  end: { segment: number; offset: number };
}

const SEGMENT = /^(\d{16})\.seg$/;
const FIRST_SEGMENT = 1_000_000;
const name = (id: number) => `${String(id).padStart(16, '0')}.seg`;

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * @internal A durable, bounded, append-only spool on local disk: segments of
 * CRC-32-checked frames, read in order and acknowledged batch by batch. The
 * acknowledged position is kept in `cursor.json`, so a restarted process replays
 * exactly what was not acknowledged. A torn or corrupt tail (a crash mid-write)
 * is detected by the checksum, logged and skipped.
 */
export class Spool {
  readonly dir: string;
  readonly #config: SpoolConfig;
  readonly #logger: EventsLogger;
  /** Segment ids on disk, ascending. */
  readonly #segments: number[] = [];
  /** Bytes on disk per segment. */
  readonly #sizes = new Map<number, number>();
  #acked: { segment: number; offset: number };
  #read: { segment: number; offset: number };
  #writeId = 0;
  #writeFd: number | undefined;
  #pendingRecords = 0;
  #pendingBytes = 0;
  #corrupt = 0;
  #closed = false;
  /** Frames accepted by {@link appendSoon}, written together at the next commit (group commit). */
  #queued: Buffer[] = [];
  #commitScheduled = false;
  #lastCommitError: unknown;

  private constructor(config: SpoolConfig) {
    this.dir = config.dir;
    this.#config = config;
    this.#logger = config.logger ?? silentLogger;
    this.#acked = { segment: FIRST_SEGMENT, offset: 0 };
    this.#read = { ...this.#acked };
  }

  /** Opens (creating) the spool in `dir`, takes its lock and recovers what is pending. */
  static open(config: SpoolConfig): Spool {
    const spool = new Spool(config);
    spool.#recover();
    return spool;
  }

  /** Records written and not yet acknowledged. */
  get pendingRecords(): number {
    return this.#pendingRecords;
  }

  /** Bytes on disk not yet acknowledged (frames included). */
  get pendingBytes(): number {
    return this.#pendingBytes;
  }

  /** Records skipped because their frame failed its checksum (crash mid-write, disk damage). */
  get corruptFrames(): number {
    return this.#corrupt;
  }

  /** True when `bytes` more would still fit under `maxBytes`. */
  hasRoom(bytes: number): boolean {
    return this.#pendingBytes + bytes + FRAME_HEADER <= this.#config.maxBytes;
  }

  /** Appends records (one write call); they survive a process crash once this returns. */
  append(records: readonly LogRecord[]): void {
    if (records.length === 0) return;
    if (!this.commit()) throw new Error('spool: earlier events could not be written', { cause: this.#lastCommitError });
    const frames = Buffer.concat(records.map((record) => encodeFrame(encodeRecord(record))));
    this.#write(frames, this.#pendingRecords === 0);
    this.#pendingRecords += records.length;
    this.#pendingBytes += frames.length;
  }

  /**
   * Appends records with group commit: they are written, together with every
   * other record appended in the same turn of the event loop, in one write
   * call just after the current turn (or at the next `read`, `append` or
   * `close`). A process crash loses at most the records of the turn it
   * happened in; a write that fails (a full disk) keeps them queued, logged,
   * and is tried again.
   */
  appendSoon(records: readonly LogRecord[]): void {
    if (records.length === 0) return;
    for (const record of records) {
      const frame = encodeFrame(encodeRecord(record));
      this.#queued.push(frame);
      this.#pendingBytes += frame.length;
    }
    this.#pendingRecords += records.length;
    this.#scheduleCommit(0);
  }

  /** Writes what {@link appendSoon} queued; false when it could not (kept queued, tried again later). */
  commit(): boolean {
    if (this.#queued.length === 0) return true;
    const frames = this.#queued.length === 1 ? (this.#queued[0] as Buffer) : Buffer.concat(this.#queued);
    const records = this.#queued.length;
    try {
      this.#write(frames, this.#pendingRecords === records);
    } catch (error) {
      if (this.#lastCommitError === undefined) {
        this.#logger.error(
          { err: error, spool: this.dir, records, bytes: frames.length },
          'spool: could not write events (disk full?); they are kept in memory and written again shortly',
        );
      }
      this.#lastCommitError = error;
      this.#scheduleCommit(100);
      return false;
    }
    if (this.#lastCommitError !== undefined) {
      this.#logger.info({ spool: this.dir }, 'spool: writing again');
      this.#lastCommitError = undefined;
    }
    this.#queued = [];
    return true;
  }

  #scheduleCommit(delayMs: number): void {
    if (this.#commitScheduled || this.#closed) return;
    this.#commitScheduled = true;
    const run = () => {
      this.#commitScheduled = false;
      if (!this.#closed) this.commit();
    };
    if (delayMs === 0) setImmediate(run);
    else setTimeout(run, delayMs).unref();
  }

  /** Writes whole frames at the end of the current segment; a failed write is cut back off, so no torn frame stays. */
  #write(frames: Buffer, emptyBefore: boolean): void {
    const fd = this.#writer(frames.length, emptyBefore);
    const before = this.#sizes.get(this.#writeId) ?? 0;
    let written = 0;
    try {
      while (written < frames.length) written += writeSync(fd, frames, written);
      if (this.#config.fsync) fsyncSync(fd);
    } catch (error) {
      try {
        ftruncateSync(fd, before);
      } catch {
        // The segment keeps a torn tail: its checksum fails and it is skipped on read.
      }
      // Open the file again next time (the disk may have been replaced or freed meanwhile).
      this.#closeWriter();
      throw error;
    }
    this.#sizes.set(this.#writeId, before + frames.length);
  }

  /**
   * Puts `records` before everything pending (they are older: events that were
   * still in memory when the producer closed). Only while no batch is out.
   */
  prepend(records: readonly LogRecord[]): void {
    if (records.length === 0) return;
    this.commit();
    const frames = Buffer.concat(records.map((record) => encodeFrame(encodeRecord(record))));
    const first = this.#segments[0];
    if (first === undefined) {
      this.append(records);
      return;
    }
    // Rewrite the first pending segment as [records][its unacknowledged rest].
    const path = join(this.dir, name(first));
    const rest = readFileSync(path).subarray(first === this.#acked.segment ? this.#acked.offset : 0);
    if (first === this.#writeId) this.#closeWriter();
    const tmp = `${path}.tmp`;
    writeFileSync(tmp, Buffer.concat([frames, rest]));
    if (this.#config.fsync) this.#fsyncPath(tmp);
    renameSync(tmp, path);
    this.#sizes.set(first, frames.length + rest.length);
    this.#acked = { segment: first, offset: 0 };
    this.#read = { ...this.#acked };
    this.#saveCursor();
    this.#pendingRecords += records.length;
    this.#pendingBytes += frames.length;
  }

  /** The next batch after what was handed out last (at most `maxRecords`/about `maxBytes`), or undefined. */
  read(maxRecords: number, maxBytes: number): SpoolBatch | undefined {
    this.commit();
    const records: LogRecord[] = [];
    let bytes = 0;
    while (records.length < maxRecords && bytes < maxBytes) {
      const { segment, offset } = this.#read;
      const size = this.#sizes.get(segment);
      if (size === undefined || offset >= size) {
        const next = this.#segments.find((id) => id > segment);
        if (next === undefined) break;
        this.#read = { segment: next, offset: 0 };
        continue;
      }
      const fd = openSync(join(this.dir, name(segment)), 'r');
      let buffer: Buffer;
      try {
        let want = Math.min(size - offset, Math.max(maxBytes - bytes, 64 * 1024));
        if (want >= FRAME_HEADER) {
          // A single frame larger than the read: read at least all of it.
          const header = Buffer.allocUnsafe(FRAME_HEADER);
          readSync(fd, header, 0, FRAME_HEADER, offset);
          want = Math.min(size - offset, Math.max(want, FRAME_HEADER + header.readUInt32BE(0)));
        }
        buffer = Buffer.allocUnsafe(want);
        buffer = buffer.subarray(0, readSync(fd, buffer, 0, want, offset));
      } finally {
        closeSync(fd);
      }
      const scan = scanFrames(buffer);
      for (const frame of scan.frames) {
        if (records.length >= maxRecords || (bytes > 0 && bytes + frame.end - frame.start > maxBytes)) {
          this.#read = { segment, offset: offset + frame.start };
          return { records, bytes, end: { ...this.#read } };
        }
        records.push(decodeRecord(frame.payload));
        bytes += frame.end - frame.start;
      }
      this.#read = { segment, offset: offset + scan.next };
      if (scan.stop === 'corrupt' || (scan.stop === 'partial' && scan.frames.length === 0)) {
        // A frame that can never become whole: its checksum fails, or it is torn.
        const skipped = size - this.#read.offset;
        this.#corrupt++;
        this.#pendingBytes = Math.max(0, this.#pendingBytes - skipped);
        this.#logger.error(
          { spool: this.dir, segment: name(segment), offset: this.#read.offset, skippedBytes: skipped },
          'spool: corrupt or torn frame; skipping the rest of the segment',
        );
        this.#read = { segment, offset: size };
      }
    }
    return records.length === 0 ? undefined : { records, bytes, end: { ...this.#read } };
  }

  /** Acknowledges a batch returned by {@link read}: it will not be replayed. */
  ack(batch: SpoolBatch): void {
    this.#acked = { ...batch.end };
    this.#pendingRecords = Math.max(0, this.#pendingRecords - batch.records.length);
    this.#pendingBytes = Math.max(0, this.#pendingBytes - batch.bytes);
    // Delete every segment wholly behind the cursor (never the one being written).
    while (this.#segments.length > 0) {
      const first = this.#segments[0] as number;
      const behind = first < this.#acked.segment;
      const finished =
        first === this.#acked.segment && first !== this.#writeId && this.#acked.offset >= (this.#sizes.get(first) ?? 0);
      if (!behind && !finished) break;
      this.#segments.shift();
      this.#sizes.delete(first);
      rmSync(join(this.dir, name(first)), { force: true });
      if (finished) this.#acked = { segment: this.#segments[0] ?? first + 1, offset: 0 };
    }
    if (this.#read.segment < this.#acked.segment) this.#read = { ...this.#acked };
    if (this.#pendingRecords === 0) this.#pendingBytes = 0;
    this.#saveCursor();
  }

  /**
   * Replaces the batches handed out by {@link read} (`outstanding`, all of them: some
   * acknowledged by the broker, some refused, some not sent) with `older` — what is left
   * to send of them, preceded by older records from memory — before everything not handed
   * out yet. Unlike {@link rewind}, what was delivered or refused is never replayed.
   * Crash-safe: a crash in the middle may replay handed-out records once more, never loses one.
   */
  requeue(outstanding: readonly SpoolBatch[], older: readonly LogRecord[]): void {
    if (outstanding.length === 0) {
      this.prepend(older);
      return;
    }
    this.commit();
    const at = { ...this.#read };
    const frames = Buffer.concat(older.map((record) => encodeFrame(encodeRecord(record))));
    const path = join(this.dir, name(at.segment));
    const size = this.#sizes.get(at.segment);
    const rest = size === undefined ? Buffer.alloc(0) : readFileSync(path).subarray(at.offset, size);
    if (at.segment === this.#writeId) this.#closeWriter();
    // [left of the handed-out batches][what was not handed out yet], in place of the segment being read.
    const tmp = `${path}.tmp`;
    writeFileSync(tmp, Buffer.concat([frames, rest]));
    if (this.#config.fsync) this.#fsyncPath(tmp);
    renameSync(tmp, path);
    if (size === undefined) {
      this.#segments.push(at.segment);
      this.#segments.sort((a, b) => a - b);
    }
    this.#sizes.set(at.segment, frames.length + rest.length);
    this.#acked = { segment: at.segment, offset: 0 };
    this.#read = { ...this.#acked };
    this.#saveCursor();
    // Segments wholly handed out are done: the cursor is past them.
    while ((this.#segments[0] ?? at.segment) < at.segment) {
      const first = this.#segments.shift() as number;
      this.#sizes.delete(first);
      rmSync(join(this.dir, name(first)), { force: true });
    }
    let handedRecords = 0;
    let handedBytes = 0;
    for (const batch of outstanding) {
      handedRecords += batch.records.length;
      handedBytes += batch.bytes;
    }
    this.#pendingRecords = Math.max(0, this.#pendingRecords - handedRecords + older.length);
    this.#pendingBytes = Math.max(0, this.#pendingBytes - handedBytes + frames.length);
  }

  /** Forgets the batch handed out last, so the next `read` returns it again. */
  rewind(): void {
    this.#read = { ...this.#acked };
  }

  /** Closes files and releases the lock; pending records stay for the next `open`. */
  close(): void {
    if (this.#closed) return;
    this.commit();
    this.#closed = true;
    this.#closeWriter();
    rmSync(join(this.dir, 'lock'), { force: true });
  }

  #recover(): void {
    const { dir } = this;
    mkdirSync(dir, { recursive: true });
    const lock = join(dir, 'lock');
    if (existsSync(lock)) {
      const pid = Number(readFileSync(lock, 'utf8'));
      if (Number.isInteger(pid) && pid !== process.pid && isAlive(pid)) throw new SpoolLockedError(dir, pid);
    }
    writeFileSync(lock, String(process.pid));

    for (const file of readdirSync(dir)) {
      const match = SEGMENT.exec(file);
      if (match) this.#segments.push(Number(match[1]));
      else if (file.endsWith('.tmp')) rmSync(join(dir, file), { force: true });
    }
    this.#segments.sort((a, b) => a - b);
    try {
      const cursor = JSON.parse(readFileSync(join(dir, 'cursor.json'), 'utf8')) as { segment: number; offset: number };
      if (Number.isInteger(cursor.segment) && Number.isInteger(cursor.offset)) this.#acked = cursor;
    } catch {
      // No cursor yet: everything on disk is pending.
      const first = this.#segments[0];
      if (first !== undefined) this.#acked = { segment: first, offset: 0 };
    }
    // Segments wholly acknowledged before a crash are removed; the cursor lands on the first pending one.
    for (const id of [...this.#segments]) {
      if (id < this.#acked.segment) {
        rmSync(join(dir, name(id)), { force: true });
        this.#segments.shift();
      }
    }
    if (this.#segments[0] !== undefined && this.#segments[0] > this.#acked.segment) {
      this.#acked = { segment: this.#segments[0], offset: 0 };
    }
    // Count what is pending (and find torn tails) by scanning it once.
    for (const id of this.#segments) {
      const bytes = readFileSync(join(dir, name(id)));
      this.#sizes.set(id, bytes.length);
      const start = id === this.#acked.segment ? this.#acked.offset : 0;
      const scan = scanFrames(bytes, Math.min(start, bytes.length));
      this.#pendingRecords += scan.frames.length;
      this.#pendingBytes += scan.next - start;
      if (scan.stop !== 'end') {
        this.#logger.warn(
          { spool: dir, segment: name(id), offset: scan.next, bytes: bytes.length - scan.next },
          `spool: ${scan.stop} frame at the end of a segment (crash mid-write?); it will be skipped`,
        );
        this.#sizes.set(id, scan.next);
        this.#corrupt++;
      }
    }
    this.#read = { ...this.#acked };
    // Never append to a recovered segment: new writes start a new one.
    this.#writeId = (this.#segments[this.#segments.length - 1] ?? FIRST_SEGMENT - 1) + 1;
    if (this.#pendingRecords > 0) {
      this.#logger.info(
        { spool: dir, records: this.#pendingRecords, bytes: this.#pendingBytes },
        'spool: recovered pending events; they are replayed first',
      );
    }
  }

  #writer(incoming: number, emptyBefore: boolean): number {
    const size = this.#sizes.get(this.#writeId) ?? 0;
    if (this.#writeFd !== undefined && size > 0 && size + incoming > this.#config.segmentBytes) {
      this.#closeWriter();
      this.#writeId++;
    }
    if (this.#writeFd === undefined) {
      if (!this.#segments.includes(this.#writeId)) {
        if (this.#segments.length > 0 && this.#writeId <= (this.#segments[this.#segments.length - 1] as number)) {
          this.#writeId = (this.#segments[this.#segments.length - 1] as number) + 1;
        }
        this.#segments.push(this.#writeId);
        this.#sizes.set(this.#writeId, 0);
        if (emptyBefore) {
          this.#acked = { segment: this.#writeId, offset: 0 };
          this.#read = { ...this.#acked };
        }
      }
      this.#writeFd = openSync(join(this.dir, name(this.#writeId)), 'a');
      this.#sizes.set(this.#writeId, fstatSync(this.#writeFd).size);
    }
    return this.#writeFd;
  }

  #closeWriter(): void {
    if (this.#writeFd !== undefined) {
      closeSync(this.#writeFd);
      this.#writeFd = undefined;
    }
  }

  #saveCursor(): void {
    const file = join(this.dir, 'cursor.json');
    writeFileSync(`${file}.tmp`, JSON.stringify(this.#acked));
    renameSync(`${file}.tmp`, file);
  }

  #fsyncPath(path: string): void {
    const fd = openSync(path, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }

  /** @internal bytes of the segment files, for tests. */
  diskBytes(): number {
    return this.#segments.reduce((sum, id) => {
      try {
        return sum + statSync(join(this.dir, name(id))).size;
      } catch {
        return sum;
      }
    }, 0);
  }
}
