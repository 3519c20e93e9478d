import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import type { LogRecord } from '../src/log/record.js';
import { Spool } from '../src/spool/spool.js';
import { until } from './helpers.js';

const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'backlot-spool-faults-'));
  dirs.push(dir);
  return dir;
};
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const record = (i: number): LogRecord => ({
  topic: 'events',
  key: `k${i % 5}`,
  value: Buffer.from(JSON.stringify({ i, pad: 'x'.repeat(50) })),
  timestamp: 1_700_000_000_000 + i,
});
const indexOf = (r: LogRecord) => (JSON.parse(r.value.toString()) as { i: number }).i;
const open = (dir: string, logger?: { info(): void; warn(): void; error(o: unknown, m: string): void }) =>
  Spool.open({ dir, maxBytes: 10 * 1024 * 1024, segmentBytes: 64 * 1024, fsync: false, logger });

async function drain(spool: Spool): Promise<number[]> {
  const seen: number[] = [];
  for (let b = await spool.read(50, 1 << 20); b; b = await spool.read(50, 1 << 20)) {
    seen.push(...b.records.map(indexOf));
    spool.ack(b);
  }
  return seen;
}

describe('spool faults', () => {
  it.skipIf(!existsSync('/dev/full'))(
    'full disk (ENOSPC): group-committed events are kept in memory, logged once, and written when the disk frees up',
    async () => {
      const dir = tempDir();
      const errors: string[] = [];
      const spool = open(dir, { info() {}, warn() {}, error: (_o, m) => errors.push(m) });
      // The next segment is a device that is always full.
      symlinkSync('/dev/full', join(dir, '0000000001000000.seg'));
      for (let i = 0; i < 100; i++) spool.appendSoon([record(i)]);
      expect(spool.pendingRecords).toBe(100);
      // The group write fails off this call; wait for it (bounded), not for a fixed time.
      await until(() => errors.length > 0, 'the failed group write to be logged', 5_000);
      expect(errors.length).toBe(1);
      expect(errors[0]).toMatch(/could not write/);
      for (let i = 100; i < 150; i++) spool.appendSoon([record(i)]);
      expect(spool.pendingRecords).toBe(150);
      // Room again: the next retry writes everything, in order, with no torn frame.
      unlinkSync(join(dir, '0000000001000000.seg'));
      await until(() => spool.commit(), 'the spool to write again', 5_000);
      expect(await drain(spool)).toEqual(Array.from({ length: 150 }, (_, i) => i));
      expect(spool.corruptFrames).toBe(0);
      await spool.close();
    },
  );

  it('group commit: events appended in one turn of the event loop are on disk after it, in one write', async () => {
    const dir = tempDir();
    const spool = open(dir);
    for (let i = 0; i < 200; i++) spool.appendSoon([record(i)]);
    const before = readdirSync(dir).filter((f) => f.endsWith('.seg'));
    expect(before.every((f) => readFileSync(join(dir, f)).length === 0)).toBe(true);
    // Written by one asynchronous group write, off the caller's path.
    await spool.written();
    // A new process (after a crash) finds them all.
    const bytes = readdirSync(dir)
      .filter((f) => f.endsWith('.seg'))
      .reduce((sum, f) => sum + readFileSync(join(dir, f)).length, 0);
    expect(bytes).toBeGreaterThan(200 * 50);
    rmSync(join(dir, 'lock'));
    const reopened = open(dir);
    expect(reopened.pendingRecords).toBe(200);
    expect(await drain(reopened)).toEqual(Array.from({ length: 200 }, (_, i) => i));
    await reopened.close();
  });

  it('property: a segment corrupted anywhere loses only records at and after the damage, never replays garbage, never throws', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 60 }),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        async (count, where, xor) => {
          const dir = tempDir();
          const spool = open(dir);
          spool.append(Array.from({ length: count }, (_, i) => record(i)));
          await spool.close();
          const [segment] = readdirSync(dir).filter((f) => f.endsWith('.seg'));
          const path = join(dir, segment as string);
          const bytes = readFileSync(path);
          const at = where % bytes.length;
          bytes[at] = (bytes[at] as number) ^ xor;
          writeFileSync(path, bytes);
          const reopened = open(dir);
          const seen = await drain(reopened);
          await reopened.close();
          // What is replayed is a prefix of what was written, intact.
          expect(seen).toEqual(Array.from({ length: seen.length }, (_, i) => i));
          expect(seen.length).toBeLessThan(count);
        },
      ),
      { numRuns: 100 },
    );
  });
});
