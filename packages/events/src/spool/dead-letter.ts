import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeFrame, scanFrames } from '../log/frames.js';
import { decodeRecord, encodeRecord, type LogRecord } from '../log/record.js';

/** An event the broker refused for good, as kept in a spool's dead-letter file; see {@link readDeadLetters}. */
export interface DeadLetter {
  /** The topic it was meant for. */
  topic: string;
  /** Its partitioning key, or null. */
  key: string | null;
  /** The encoded event (decode it with the catalogue's `decode`). */
  value: Buffer;
  /** When it was emitted (ms since epoch). */
  timestamp: number;
  /** The broker's error name, e.g. `MESSAGE_TOO_LARGE`. */
  code: string;
  /** The broker's or client's explanation. */
  reason: string;
  /** When it was dead-lettered (ms since epoch). */
  deadLetteredAt: number;
  /** Its record headers (its W3C trace context, when it was emitted inside a traced span), if any. */
  headers?: Readonly<Record<string, string>> | undefined;
}

/** Name of the dead-letter file inside a spool directory. @internal */
export const DEAD_LETTER_FILE = 'dead-letter.log';

/** One frame: u32 length of the JSON header (code, reason, time), the header, then the record. */
function encodeDeadLetter(record: LogRecord, code: string, reason: string, at: number): Buffer {
  const header = Buffer.from(JSON.stringify({ code, reason, at }), 'utf8');
  const body = encodeRecord(record);
  const payload = Buffer.allocUnsafe(4 + header.length + body.length);
  payload.writeUInt32BE(header.length, 0);
  header.copy(payload, 4);
  body.copy(payload, 4 + header.length);
  return encodeFrame(payload);
}

/**
 * @internal the dead-letter file of a spool: events refused for good by the
 * broker (a poison event: too large, invalid, not authorised) are appended here
 * instead of being retried, in CRC-checked frames, so that they can be read
 * back ({@link readDeadLetters}), fixed and emitted again.
 */
export class DeadLetterFile {
  readonly path: string;

  constructor(dir: string) {
    mkdirSync(dir, { recursive: true });
    this.path = join(dir, DEAD_LETTER_FILE);
  }

  /** Appends `records` with why they were refused (one write). */
  append(entries: readonly { record: LogRecord; code: string; reason: string }[]): void {
    if (entries.length === 0) return;
    const at = Date.now();
    appendFileSync(
      this.path,
      Buffer.concat(entries.map(({ record, code, reason }) => encodeDeadLetter(record, code, reason, at))),
    );
  }
}

/**
 * Reads the events a producer dead-lettered into its spool directory (`spool.dir`):
 * events the broker refused for good, oldest first. A torn last frame (a crash
 * mid-write) is skipped.
 *
 * @example
 * ```ts
 * for (const letter of readDeadLetters('/var/lib/play-api/spool')) {
 *   console.log(letter.code, letter.topic, letter.value.length);
 * }
 * ```
 */
export function readDeadLetters(spoolDir: string): DeadLetter[] {
  const path = join(spoolDir, DEAD_LETTER_FILE);
  if (!existsSync(path)) return [];
  return scanFrames(readFileSync(path)).frames.map(({ payload }) => {
    const headerLength = payload.readUInt32BE(0);
    const header = JSON.parse(payload.subarray(4, 4 + headerLength).toString('utf8')) as {
      code: string;
      reason: string;
      at: number;
    };
    const record = decodeRecord(payload.subarray(4 + headerLength));
    return { ...record, code: header.code, reason: header.reason, deadLetteredAt: header.at };
  });
}
