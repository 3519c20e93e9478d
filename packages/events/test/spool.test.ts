import {
  appendFileSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isSpoolLockedError } from '../src/index.js';
import type { LogRecord } from '../src/log/record.js';
import { Spool, type SpoolBatch } from '../src/spool/spool.js';

const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'backlot-spool-'));
  dirs.push(dir);
  return dir;
};
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const record = (i: number, topic = 'events'): LogRecord => ({
  topic,
  key: i % 2 ? `k${i % 5}` : null,
  value: Buffer.from(JSON.stringify({ i, pad: 'x'.repeat(100) })),
  timestamp: 1_700_000_000_000 + i,
});
const indexOf = (r: LogRecord) => (JSON.parse(r.value.toString()) as { i: number }).i;
const open = (dir: string, extra: Partial<Parameters<typeof Spool.open>[0]> = {}) =>
  Spool.open({ dir, maxBytes: 10 * 1024 * 1024, segmentBytes: 4096, fsync: false, ...extra });

async function drain(spool: Spool, batch = 7): Promise<number[]> {
  const seen: number[] = [];
  for (let b = await spool.read(batch, 1 << 20); b; b = await spool.read(batch, 1 << 20)) {
    seen.push(...b.records.map(indexOf));
    spool.ack(b);
  }
  return seen;
}

describe('spool', () => {
  it('reads back in order across segments and deletes acknowledged segments', async () => {
    const dir = tempDir();
    const spool = open(dir);
    for (let i = 0; i < 100; i++) spool.append([record(i)]);
    expect(spool.pendingRecords).toBe(100);
    expect(readdirSync(dir).filter((f) => f.endsWith('.seg')).length).toBeGreaterThan(2);
    const first = await spool.read(10, 1 << 20);
    expect(first?.records.map(indexOf)).toEqual([...Array(10).keys()]);
    expect(first?.records[1]).toEqual(record(1));
    if (first) spool.ack(first);
    expect(await drain(spool)).toEqual([...Array(90).keys()].map((i) => i + 10));
    expect(spool.pendingRecords).toBe(0);
    // Deleted by the writer, after the cursor that passed them is saved.
    await spool.idle();
    expect(readdirSync(dir).filter((f) => f.endsWith('.seg')).length).toBeLessThanOrEqual(1);
    await spool.close();
  });

  it('replays exactly what was not acknowledged after a restart (once the acknowledgement is saved, off the caller)', async () => {
    const dir = tempDir();
    const spool = open(dir);
    for (let i = 0; i < 50; i++) spool.append([record(i)]);
    const cursor = () => readFileSync(join(dir, 'cursor.json'), 'utf8');
    await spool.idle();
    const before = existsSync(join(dir, 'cursor.json')) ? cursor() : undefined;
    const first = await spool.read(10, 1 << 20);
    const batch = await spool.read(10, 1 << 20);
    if (first) spool.ack(first);
    if (batch) spool.ack(batch);
    // Not written by ack() itself: two acknowledgements, one save by the writer afterwards.
    expect(existsSync(join(dir, 'cursor.json')) ? cursor() : undefined).toBe(before);
    await spool.idle();
    expect(JSON.parse(cursor())).toEqual(batch?.end);
    await spool.read(10, 1 << 20); // handed out, never acknowledged: must come back
    // Crash: no close(); the lock names our own pid, which a new open accepts.
    const again = open(dir);
    expect(again.pendingRecords).toBe(30);
    again.append([record(50)]);
    expect(await drain(again)).toEqual([...Array(31).keys()].map((i) => i + 20));
    await again.close();
  });

  it('detects a torn tail by checksum, keeps what precedes it, and counts it', async () => {
    const dir = tempDir();
    const spool = open(dir, { segmentBytes: 1 << 20 });
    for (let i = 0; i < 10; i++) spool.append([record(i)]);
    await spool.close();
    const segment = readdirSync(dir).find((f) => f.endsWith('.seg')) as string;
    appendFileSync(join(dir, segment), Buffer.from([0, 0, 0, 50, 1, 2, 3, 4, 5])); // a write cut short
    const again = open(dir);
    expect(again.pendingRecords).toBe(10);
    expect(again.corruptFrames).toBe(1);
    again.append([record(10)]);
    expect(await drain(again)).toEqual([...Array(11).keys()]);
    await again.close();
  });

  it('reads ahead off the caller’s turn, and never hands out a batch read before a rewrite moved what was there', async () => {
    const dir = tempDir();
    const spool = open(dir);
    spool.append(Array.from({ length: 10 }, (_, i) => record(i + 10)));
    // Not read yet: the read starts now, off this call.
    expect(spool.readReady(5, 1 << 20)).toBeUndefined();
    await spool.readable();
    // Older records go in front of the same position the read ahead started from.
    await spool.prepend([0, 1].map((i) => record(i)));
    expect(spool.readReady(5, 1 << 20)?.records.map(indexOf) ?? []).not.toEqual([10, 11, 12, 13, 14]);
    spool.rewind();
    expect(await drain(spool, 5)).toEqual([0, 1, ...[...Array(10).keys()].map((i) => i + 10)]);
    await spool.close();
  });

  it('puts prepended records before everything pending', async () => {
    const dir = tempDir();
    const spool = open(dir);
    for (let i = 10; i < 40; i++) spool.append([record(i)]);
    const batch = await spool.read(5, 1 << 20);
    if (batch) spool.ack(batch);
    await spool.prepend([0, 1, 2].map((i) => record(i)));
    expect(spool.pendingRecords).toBe(28);
    expect(await drain(spool)).toEqual([0, 1, 2, ...[...Array(25).keys()].map((i) => i + 15)]);
    await spool.close();
  });

  it('enforces its byte bound', async () => {
    const spool = open(tempDir(), { maxBytes: 1000 });
    let appended = 0;
    while (spool.hasRoom(200)) {
      spool.append([record(appended++)]);
    }
    expect(appended).toBeGreaterThan(2);
    expect(spool.pendingBytes).toBeLessThanOrEqual(1000);
    await spool.close();
  });

  it('refuses a directory held by another live process', async () => {
    const dir = tempDir();
    appendFileSync(join(dir, 'lock'), String(process.ppid));
    let error: unknown;
    try {
      open(dir);
    } catch (e) {
      error = e;
    }
    expect(isSpoolLockedError(error)).toBe(true);
  });

  it('requeue: batches handed out are replaced by what is left of them (plus older records), delivered parts never replayed, across a restart', async () => {
    const dir = tempDir();
    const spool = open(dir); // 4 KiB segments: the batches span segments
    spool.append(Array.from({ length: 100 }, (_, i) => record(i)));
    const first = (await spool.read(30, 1 << 20)) as SpoolBatch;
    const second = (await spool.read(30, 1 << 20)) as SpoolBatch;
    // Of the two batches out, 5 and 40..44 were not delivered; the rest was (or was refused for good).
    const left = [
      ...first.records.filter((r) => indexOf(r) === 5),
      ...second.records.filter((r) => indexOf(r) >= 40 && indexOf(r) < 45),
    ];
    await spool.requeue([first, second], [record(1000), ...left]);
    expect(spool.pendingRecords).toBe(1 + 6 + 40);
    await spool.close();
    // A restart replays exactly that, in that order.
    const again = open(dir);
    expect(again.pendingRecords).toBe(47);
    expect(await drain(again)).toEqual([1000, 5, 40, 41, 42, 43, 44, ...Array.from({ length: 40 }, (_, i) => 60 + i)]);
    await again.close();
  });

  it('recovers from a garbage cursor and a truncated last record: replays what it can read, never garbage, never throws', async () => {
    const dir = tempDir();
    const spool = open(dir, { segmentBytes: 1 << 20 });
    spool.append(Array.from({ length: 20 }, (_, i) => record(i)));
    await spool.close();
    writeFileSync(join(dir, 'cursor.json'), '{"segment": "not a number", garbage');
    const [segment] = readdirSync(dir).filter((f) => f.endsWith('.seg'));
    const path = join(dir, segment as string);
    truncateSync(path, statSync(path).size - 7);
    const again = open(dir);
    expect(again.corruptFrames).toBe(1);
    expect(await drain(again)).toEqual(Array.from({ length: 19 }, (_, i) => i));
    await again.close();
  });
});
