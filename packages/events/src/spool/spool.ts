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
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { type FileHandle, open as openFile, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
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

/** A batch read ahead from `start`, valid while the spool's generation is unchanged. */
interface ReadAhead {
  readonly generation: number;
  readonly start: { segment: number; offset: number };
  readonly end: { segment: number; offset: number };
  readonly records: LogRecord[];
  readonly bytes: number;
  /** Torn or corrupt tails passed over, counted and logged when the batch is handed out. */
  readonly skipped: { segment: number; offset: number; bytes: number }[];
  readonly maxRecords: number;
  readonly maxBytes: number;
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
 * exactly what was not acknowledged (or a little more: the cursor is saved
 * after the acknowledgement, never before). A torn or corrupt tail (a crash
 * mid-write) is detected by the checksum, logged and skipped.
 *
 * Disk work is off the caller's path: {@link appendSoon} (group commit),
 * cursor saves, segment deletions and {@link requeue} go through one
 * asynchronous writer, one operation at a time, in order; {@link read} sees
 * only what that writer completed. Only {@link append} (write-through: on disk
 * before it returns) writes synchronously, and never while the asynchronous
 * writer has appends queued.
 */
export class Spool {
  readonly dir: string;
  readonly #config: SpoolConfig;
  readonly #logger: EventsLogger;
  /** Segment ids on disk, ascending. */
  readonly #segments: number[] = [];
  /** Bytes written (and readable) per segment. */
  readonly #sizes = new Map<number, number>();
  #acked: { segment: number; offset: number };
  #read: { segment: number; offset: number };
  #writeId = 0;
  /** The segment being appended to, open for writing (a file descriptor shared by both writers). */
  #writeFd: number | undefined;
  #pendingRecords = 0;
  #pendingBytes = 0;
  #corrupt = 0;
  #closed = false;
  /** Frames accepted by {@link appendSoon}, written together by the next group write. */
  #queued: Buffer[] = [];
  /** Records in `#queued` and in the group write under way. */
  #unwritten = 0;
  #writeScheduled = false;
  #lastWriteError: unknown;
  /** The asynchronous writer: every disk operation, one after the other. */
  #io: Promise<void> = Promise.resolve();
  /** Operations queued on the writer and not finished. */
  #ioPending = 0;
  /** Rewrites ({@link requeue}) under way: nothing is read meanwhile. */
  #rewriting = 0;
  #cursorSaveQueued = false;
  /** Segments acknowledged whole, deleted after the next cursor save. */
  #toDelete: number[] = [];
  /** Waiting for the writer to finish an operation (or a read ahead). */
  #waiters: (() => void)[] = [];
  /** The next batch, read ahead from disk off the caller's path (see {@link readReady}). */
  #ahead: ReadAhead | undefined;
  #filling: Promise<void> | undefined;
  /** Moves on when what was read ahead may no longer be where it was (a rewind, a rewrite). */
  #generation = 0;
  #lastReadError: string | undefined;
  #onReadAhead: (() => void) | undefined;

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

  /** Records accepted and not yet acknowledged (written or about to be). */
  get pendingRecords(): number {
    return this.#pendingRecords;
  }

  /** Bytes accepted and not yet acknowledged (frames included). */
  get pendingBytes(): number {
    return this.#pendingBytes;
  }

  /** Records skipped because their frame failed its checksum (crash mid-write, disk damage). */
  get corruptFrames(): number {
    return this.#corrupt;
  }

  /** Records accepted by {@link appendSoon} and not yet on disk. */
  get unwrittenRecords(): number {
    return this.#unwritten;
  }

  /** True when `bytes` more would still fit under `maxBytes`. */
  hasRoom(bytes: number): boolean {
    return this.#pendingBytes + bytes + FRAME_HEADER <= this.#config.maxBytes;
  }

  /** Appends records (one synchronous write call); they survive a process crash once this returns. */
  append(records: readonly LogRecord[]): void {
    if (records.length === 0) return;
    if (this.#unwritten > 0) {
      throw new Error('spool: append() while group-committed records are being written; use one mode per spool');
    }
    const frames = Buffer.concat(records.map((record) => encodeFrame(encodeRecord(record))));
    const fd = this.#writerSync(frames.length);
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
      this.#closeWriter();
      throw error;
    }
    this.#sizes.set(this.#writeId, before + frames.length);
    this.#pendingRecords += records.length;
    this.#pendingBytes += frames.length;
  }

  /**
   * Appends records with group commit: they are written, together with every
   * other record appended meanwhile, by one asynchronous write that starts
   * after the current turn of the event loop. A process crash loses at most
   * the records not yet written ({@link written} resolves once they are); a
   * write that fails (a full disk) keeps them queued, is logged once, and is
   * tried again.
   */
  appendSoon(records: readonly LogRecord[]): void {
    if (records.length === 0) return;
    for (const record of records) {
      const frame = encodeFrame(encodeRecord(record));
      this.#queued.push(frame);
      this.#pendingBytes += frame.length;
    }
    this.#pendingRecords += records.length;
    this.#unwritten += records.length;
    this.#scheduleWrite(0);
  }

  /**
   * Tries to write what {@link appendSoon} queued now (after the writer's earlier
   * operations); resolves true once written, false when the write failed (kept queued).
   */
  commit(): Promise<boolean> {
    return this.#enqueue(() => this.#writeQueued());
  }

  /** Resolves once every record accepted so far is on disk (a full disk: once there is room again). */
  async written(): Promise<void> {
    while ((this.#unwritten > 0 || this.#rewriting > 0) && !this.#closed) await this.#nextOperation(100);
  }

  /** Resolves once the writer has finished everything queued so far (writes, cursor saves, deletions). */
  async idle(): Promise<void> {
    while (this.#ioPending > 0) await this.#io;
  }

  /**
   * Resolves when {@link read} may have something new: the writer finished an
   * operation (at once when it has none under way; after `idleMs` otherwise at most).
   */
  readable(idleMs = 50): Promise<void> {
    return this.#nextOperation(this.#ioPending > 0 || this.#writeScheduled ? 1000 : idleMs);
  }

  /**
   * Puts `records` before everything pending (they are older: events that were
   * still in memory). Only while no batch is out; see {@link requeue}.
   */
  prepend(records: readonly LogRecord[]): Promise<void> {
    return this.requeue([], records);
  }

  /**
   * The next written batch after what was handed out last (at most `maxRecords`/about
   * `maxBytes`), or undefined when nothing more is written. Reads the disk asynchronously.
   */
  async read(maxRecords: number, maxBytes: number): Promise<SpoolBatch | undefined> {
    for (;;) {
      if (this.#rewriting > 0 || this.#closed) return undefined;
      const ready = this.readReady(maxRecords, maxBytes);
      if (ready) return ready;
      if (!this.#unread()) return undefined;
      await this.#fill(maxRecords, maxBytes);
    }
  }

  /**
   * Without waiting: the next batch when it has been read from disk already, else undefined
   * (a read is started, and {@link readable} waiters are woken when it is done). The
   * producer's path: no disk work on the caller's turn of the event loop.
   */
  readReady(maxRecords: number, maxBytes: number): SpoolBatch | undefined {
    const ahead = this.#ahead;
    this.#ahead = undefined;
    if (
      ahead === undefined ||
      ahead.generation !== this.#generation ||
      ahead.maxRecords !== maxRecords ||
      ahead.maxBytes !== maxBytes ||
      ahead.start.segment !== this.#read.segment ||
      ahead.start.offset !== this.#read.offset ||
      this.#rewriting > 0
    ) {
      if (this.#rewriting === 0 && this.#unread()) void this.#fill(maxRecords, maxBytes);
      return undefined;
    }
    for (const skip of ahead.skipped) {
      this.#corrupt++;
      this.#pendingBytes = Math.max(0, this.#pendingBytes - skip.bytes);
      this.#logger.error(
        { spool: this.dir, segment: name(skip.segment), offset: skip.offset, skippedBytes: skip.bytes },
        'spool: corrupt or torn frame; skipping the rest of the segment',
      );
    }
    this.#read = { ...ahead.end };
    // The next batch is read while this one is sent.
    if (this.#unread()) void this.#fill(maxRecords, maxBytes);
    return ahead.records.length === 0
      ? undefined
      : { records: ahead.records, bytes: ahead.bytes, end: { ...ahead.end } };
  }

  /** Calls `callback` whenever a batch has been read ahead (the producer then fills its send window). */
  onReadAhead(callback: () => void): void {
    this.#onReadAhead = callback;
  }

  /** Whether anything written lies after what was handed out. */
  #unread(): boolean {
    const { segment, offset } = this.#read;
    if (offset < (this.#sizes.get(segment) ?? 0)) return true;
    return this.#segments.some((id) => id > segment && (this.#sizes.get(id) ?? 0) > 0);
  }

  /** Reads the batch after `#read` into `#ahead` (one read at a time); wakes `readable()` waiters when done. */
  #fill(maxRecords: number, maxBytes: number): Promise<void> {
    this.#filling ??= this.#readAhead(maxRecords, maxBytes).finally(() => {
      this.#filling = undefined;
      for (const wake of this.#waiters.splice(0)) wake();
      if (this.#ahead) this.#onReadAhead?.();
    });
    return this.#filling;
  }

  async #readAhead(maxRecords: number, maxBytes: number): Promise<void> {
    const generation = this.#generation;
    const start = { ...this.#read };
    const records: LogRecord[] = [];
    const skipped: ReadAhead['skipped'] = [];
    let bytes = 0;
    let { segment, offset } = start;
    const done = (end: { segment: number; offset: number }) => {
      // Rewritten or rewound meanwhile: what was read may have moved.
      if (generation !== this.#generation) return;
      this.#ahead = { generation, start, end, records, bytes, skipped, maxRecords, maxBytes };
    };
    try {
      while (records.length < maxRecords && bytes < maxBytes) {
        if (generation !== this.#generation || this.#closed) return;
        const size = this.#sizes.get(segment);
        if (size === undefined || offset >= size) {
          const next = this.#segments.find((id) => id > segment);
          if (next === undefined) break;
          segment = next;
          offset = 0;
          continue;
        }
        let buffer: Buffer;
        const handle = await openFile(join(this.dir, name(segment)), 'r');
        try {
          let want = Math.min(size - offset, Math.max(maxBytes - bytes, 64 * 1024));
          if (want >= FRAME_HEADER) {
            // A single frame larger than the read: read at least all of it.
            const header = Buffer.alloc(FRAME_HEADER);
            await handle.read(header, 0, FRAME_HEADER, offset);
            want = Math.min(size - offset, Math.max(want, FRAME_HEADER + header.readUInt32BE(0)));
          }
          buffer = Buffer.allocUnsafe(want);
          buffer = buffer.subarray(0, (await handle.read(buffer, 0, want, offset)).bytesRead);
        } finally {
          await handle.close();
        }
        const scan = scanFrames(buffer);
        for (const frame of scan.frames) {
          if (records.length >= maxRecords || (bytes > 0 && bytes + frame.end - frame.start > maxBytes)) {
            done({ segment, offset: offset + frame.start });
            return;
          }
          records.push(decodeRecord(frame.payload));
          bytes += frame.end - frame.start;
        }
        offset += scan.next;
        if (scan.stop === 'corrupt' || (scan.stop === 'partial' && scan.frames.length === 0)) {
          // A frame that can never become whole: its checksum fails, or it is torn.
          skipped.push({ segment, offset, bytes: size - offset });
          offset = size;
        }
      }
      done({ segment, offset });
    } catch (error) {
      // Moved by a rewrite meanwhile: read again from the new position. Otherwise say so, once per cause.
      if (generation !== this.#generation) return;
      const message = error instanceof Error ? error.message : String(error);
      if (message !== this.#lastReadError) this.#logger.error({ err: error, spool: this.dir }, 'spool: read failed');
      this.#lastReadError = message;
    }
  }

  /** Acknowledges a batch returned by {@link read}: it will not be replayed once the cursor is saved (soon, off this call). */
  ack(batch: SpoolBatch): void {
    this.#acked = { ...batch.end };
    this.#pendingRecords = Math.max(0, this.#pendingRecords - batch.records.length);
    this.#pendingBytes = Math.max(0, this.#pendingBytes - batch.bytes);
    // Segments wholly behind the cursor are done (never the one being written): deleted after the cursor is saved.
    while (this.#segments.length > 0) {
      const first = this.#segments[0] as number;
      const behind = first < this.#acked.segment;
      const finished =
        first === this.#acked.segment && first !== this.#writeId && this.#acked.offset >= (this.#sizes.get(first) ?? 0);
      if (!behind && !finished) break;
      this.#segments.shift();
      this.#sizes.delete(first);
      this.#toDelete.push(first);
      if (finished) this.#acked = { segment: this.#segments[0] ?? first + 1, offset: 0 };
    }
    if (this.#read.segment < this.#acked.segment) this.#read = { ...this.#acked };
    if (this.#pendingRecords === 0) this.#pendingBytes = 0;
    this.#queueCursorSave();
  }

  /**
   * Replaces the batches handed out by {@link read} (`outstanding`, all of them: some
   * acknowledged by the broker, some refused, some not sent) with `older` — what is left
   * to send of them, preceded by older records from memory — before everything not handed
   * out yet. Unlike {@link rewind}, what was delivered or refused is never replayed.
   * Runs on the asynchronous writer (nothing is read until it is done); crash-safe at
   * every step: a crash in the middle may replay handed-out records once more, never loses one.
   */
  requeue(outstanding: readonly SpoolBatch[], older: readonly LogRecord[]): Promise<void> {
    if (outstanding.length === 0 && older.length === 0) return Promise.resolve();
    const at = { ...(outstanding.length > 0 ? this.#read : this.#acked) };
    const frames = Buffer.concat(older.map((record) => encodeFrame(encodeRecord(record))));
    let handedRecords = 0;
    let handedBytes = 0;
    for (const batch of outstanding) {
      handedRecords += batch.records.length;
      handedBytes += batch.bytes;
    }
    // Counted at once (new events keep queueing behind them), readable once rewritten.
    const records = older.length - handedRecords;
    const bytes = frames.length - handedBytes;
    this.#pendingRecords += records;
    this.#pendingBytes += bytes;
    this.#rewriting++;
    this.#generation++;
    return this.#enqueue(async () => {
      try {
        await this.#rewrite(at, frames);
      } catch (error) {
        this.#pendingRecords -= records;
        this.#pendingBytes -= bytes;
        throw error;
      } finally {
        this.#rewriting--;
      }
    });
  }

  /** Forgets the batches handed out, so the next `read` returns them again. */
  rewind(): void {
    this.#generation++;
    this.#read = { ...this.#acked };
  }

  /**
   * Writes what is queued (waiting at most `timeoutMs` for a full disk to free up), saves
   * the cursor, closes files and releases the lock; pending records stay for the next `open`.
   */
  async close(timeoutMs = 5000): Promise<void> {
    if (this.#closed) return;
    if (this.#unwritten > 0) {
      await Promise.race([this.written(), sleep(timeoutMs, undefined, { ref: false })]);
      if (this.#unwritten > 0) {
        this.#logger.error(
          { spool: this.dir, records: this.#unwritten },
          'spool: closed with events that could not be written (disk full?); they are lost',
        );
      }
    }
    this.#queueCursorSave();
    await this.#io;
    this.#closed = true;
    this.#closeWriter();
    for (const wake of this.#waiters.splice(0)) wake();
    rmSync(join(this.dir, 'lock'), { force: true });
  }

  // --- the asynchronous writer ------------------------------------------------

  /** Runs `task` on the writer after everything queued before it; wakes `readable()` waiters after it. */
  #enqueue<T>(task: () => Promise<T>): Promise<T> {
    this.#ioPending++;
    const run = this.#io.then(task);
    this.#io = run.then(
      () => this.#operationDone(),
      () => this.#operationDone(),
    );
    return run;
  }

  #operationDone(): void {
    this.#ioPending--;
    for (const wake of this.#waiters.splice(0)) wake();
  }

  /** Resolves after the writer's next operation (or `ms`, whichever first). */
  #nextOperation(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      timer.unref?.();
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.#waiters.push(done);
    });
  }

  #scheduleWrite(delayMs: number): void {
    if (this.#writeScheduled || this.#closed) return;
    this.#writeScheduled = true;
    const run = () => {
      this.#writeScheduled = false;
      if (!this.#closed) void this.commit();
    };
    if (delayMs === 0) setImmediate(run);
    else setTimeout(run, delayMs).unref();
  }

  /** One group write: every queued frame, at the end of the current segment; a failed write is cut back off. */
  async #writeQueued(): Promise<boolean> {
    if (this.#queued.length === 0) return true;
    const queued = this.#queued;
    this.#queued = [];
    const frames = queued.length === 1 ? (queued[0] as Buffer) : Buffer.concat(queued);
    let handle: FileHandle | undefined;
    let before = 0;
    try {
      handle = await this.#writerAsync(frames.length);
      before = this.#sizes.get(this.#writeId) ?? 0;
      let written = 0;
      while (written < frames.length) {
        written += (await handle.write(frames, written, frames.length - written, before + written)).bytesWritten;
      }
      if (this.#config.fsync) await handle.datasync();
    } catch (error) {
      if (handle) {
        await handle.truncate(before).catch(() => {
          // The segment keeps a torn tail: its checksum fails and it is skipped on read.
        });
      }
      this.#closeWriter();
      // Kept, in order, ahead of what was queued meanwhile; tried again shortly.
      this.#queued = [...queued, ...this.#queued];
      if (this.#lastWriteError === undefined) {
        this.#logger.error(
          { err: error, spool: this.dir, records: this.#unwritten, bytes: frames.length },
          'spool: could not write events (disk full?); they are kept in memory and written again shortly',
        );
      }
      this.#lastWriteError = error;
      this.#scheduleWrite(100);
      return false;
    }
    this.#sizes.set(this.#writeId, before + frames.length);
    this.#unwritten -= queued.length;
    if (this.#lastWriteError !== undefined) {
      this.#logger.info({ spool: this.dir }, 'spool: writing again');
      this.#lastWriteError = undefined;
    }
    return true;
  }

  #queueCursorSave(): void {
    if (this.#cursorSaveQueued || this.#closed) return;
    this.#cursorSaveQueued = true;
    void this.#enqueue(async () => {
      this.#cursorSaveQueued = false;
      // The latest cursor at the time of writing: several acknowledgements, one save.
      await this.#saveCursor();
      const done = this.#toDelete.splice(0);
      await Promise.all(done.map((id) => rm(join(this.dir, name(id)), { force: true })));
    }).catch((error: unknown) => {
      // Not saved: the next acknowledgement saves it; a crash before replays a little more.
      this.#logger.warn({ err: error, spool: this.dir }, 'spool: could not save the cursor');
    });
  }

  /** Writes `frames` then the unread rest of `at`'s segment in its place, and points the cursor at it. */
  async #rewrite(at: { segment: number; offset: number }, frames: Buffer): Promise<void> {
    // Later appends go to a new segment, untouched by the rewrite.
    if (at.segment === this.#writeId) {
      this.#closeWriter();
      this.#writeId++;
    }
    const path = join(this.dir, name(at.segment));
    const size = this.#sizes.get(at.segment);
    const rest = size === undefined ? Buffer.alloc(0) : (await readFile(path)).subarray(at.offset, size);
    const tmp = `${path}.tmp`;
    await writeFile(tmp, Buffer.concat([frames, rest]));
    if (this.#config.fsync) {
      const handle = await openFile(tmp, 'r');
      await handle.sync().finally(() => handle.close());
    }
    const cursor = { segment: at.segment, offset: 0 };
    // A crash between the two steps must never leave the cursor inside a segment whose frames moved:
    // when the saved cursor is in this segment, it goes to its start first (replaying, never skipping).
    const savedHere = this.#acked.segment === at.segment;
    if (savedHere) await this.#saveCursor(cursor);
    await rename(tmp, path);
    if (size === undefined) {
      this.#segments.push(at.segment);
      this.#segments.sort((a, b) => a - b);
    }
    this.#sizes.set(at.segment, frames.length + rest.length);
    this.#acked = cursor;
    this.#generation++;
    this.#read = { ...cursor };
    if (!savedHere) await this.#saveCursor(cursor);
    // Segments wholly handed out are done: the cursor is past them.
    while ((this.#segments[0] ?? at.segment) < at.segment) {
      const first = this.#segments.shift() as number;
      this.#sizes.delete(first);
      await rm(join(this.dir, name(first)), { force: true });
    }
  }

  async #saveCursor(cursor = this.#acked): Promise<void> {
    const file = join(this.dir, 'cursor.json');
    await writeFile(`${file}.tmp`, JSON.stringify(cursor));
    await rename(`${file}.tmp`, file);
  }

  // --- opening -----------------------------------------------------------------

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

  /** The segment to append `incoming` bytes to: a new one when the current one is full (or was rewritten). */
  #nextSegment(incoming: number): { path: string } {
    const size = this.#sizes.get(this.#writeId) ?? 0;
    if (this.#writeFd !== undefined && size > 0 && size + incoming > this.#config.segmentBytes) {
      this.#closeWriter();
      this.#writeId++;
    }
    if (!this.#segments.includes(this.#writeId)) {
      // Never append to a segment written before (recovered, or rewritten): a new one after the last.
      const last = this.#segments[this.#segments.length - 1];
      if (last !== undefined && this.#writeId <= last) this.#writeId = last + 1;
      // Nothing written and unacknowledged before it: the cursor moves to it.
      const empty = this.#pendingRecords - this.#unwritten <= 0 && this.#rewriting === 0;
      this.#segments.push(this.#writeId);
      this.#sizes.set(this.#writeId, 0);
      if (empty) {
        this.#acked = { segment: this.#writeId, offset: 0 };
        this.#read = { ...this.#acked };
      }
    }
    return { path: join(this.dir, name(this.#writeId)) };
  }

  #writerSync(incoming: number): number {
    if (this.#writeFd === undefined || (this.#sizes.get(this.#writeId) ?? 0) + incoming > this.#config.segmentBytes) {
      const { path } = this.#nextSegment(incoming);
      if (this.#writeFd === undefined) {
        this.#writeFd = openSync(path, 'a');
        this.#sizes.set(this.#writeId, fstatSync(this.#writeFd).size);
      }
    }
    return this.#writeFd;
  }

  /** The asynchronous writer's handle on the current segment (opened for this write, closed by `#closeWriter`). */
  #handle: FileHandle | undefined;

  async #writerAsync(incoming: number): Promise<FileHandle> {
    if (this.#handle === undefined || (this.#sizes.get(this.#writeId) ?? 0) + incoming > this.#config.segmentBytes) {
      const { path } = this.#nextSegment(incoming);
      if (this.#handle === undefined) {
        const handle = await openFile(path, 'a');
        this.#handle = handle;
        this.#writeFd = handle.fd;
        this.#sizes.set(this.#writeId, (await handle.stat()).size);
      }
    }
    return this.#handle;
  }

  #closeWriter(): void {
    const handle = this.#handle;
    this.#handle = undefined;
    if (handle) {
      this.#writeFd = undefined;
      void handle.close().catch(() => {});
      return;
    }
    if (this.#writeFd !== undefined) {
      closeSync(this.#writeFd);
      this.#writeFd = undefined;
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
