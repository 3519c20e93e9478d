import { gunzipSync } from 'node:zlib';
import { createMemoryStore } from '@backlot/storage';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { objectStoreSink } from '../../src/index.js';

const HOUR = 3_600_000;
const at = Date.UTC(2026, 10, 26, 10, 0, 0);

/** Every object written: its record count (from the body, not the metadata) and its lines. */
async function objects(store: ReturnType<typeof createMemoryStore>) {
  const found: { key: string; lines: string[]; bytes: number; records: string | undefined }[] = [];
  for await (const entry of store.list({ prefix: '' })) {
    if (entry.type !== 'object') continue;
    const object = await store.get(entry.key);
    const text = gunzipSync(object.body).toString();
    found.push({
      key: entry.key,
      lines: text.trimEnd().split('\n'),
      bytes: Buffer.byteLength(text),
      records: object.metadata?.records,
    });
  }
  return found.sort((a, b) => a.key.localeCompare(b.key));
}

describe('objectStoreSink rotation bounds hold within one batch', () => {
  it('keeps maxRecords when one consumer batch is far larger than the bound', async () => {
    const store = createMemoryStore();
    const sink = objectStoreSink<{ n: number }>({ store, maxRecords: 5000 });
    // A single consumer batch of 35,053 records, written before the pipeline asks needsFlush().
    for (let n = 0; n < 35_053; n++) sink.write({ n }, { topic: 't', partition: 0, offset: String(n), eventTime: at });
    expect(sink.needsFlush?.()).toBe(true);
    await sink.flush();
    const written = await objects(store);
    expect(written).toHaveLength(8);
    for (const object of written) {
      expect(object.lines.length).toBeLessThanOrEqual(5000);
      expect(object.records).toBe(String(object.lines.length));
    }
    const all = written.flatMap((o) => o.lines.map((line) => (JSON.parse(line) as { n: number }).n));
    expect(all).toEqual(Array.from({ length: 35_053 }, (_, n) => n));
  });

  it('property: every object keeps maxRecords and maxBytes, and every record is in exactly one object, in order', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 50 }),
        fc.integer({ min: 16, max: 2000 }),
        fc.array(
          fc.tuple(fc.integer({ min: 0, max: 2 }), fc.string({ maxLength: 60 }), fc.integer({ min: 0, max: 2 })),
          {
            maxLength: 400,
          },
        ),
        fc.array(fc.integer({ min: 1, max: 400 }), { maxLength: 5 }),
        async (maxRecords, maxBytes, records, flushPoints) => {
          const store = createMemoryStore();
          const sink = objectStoreSink<{ i: number; s: string }>({ store, maxRecords, maxBytes });
          const offsets = [0, 0, 0];
          const expected: string[] = [];
          for (const [i, [partition, s, hours]] of records.entries()) {
            const offset = offsets[partition] ?? 0;
            offsets[partition] = offset + 1;
            sink.write({ i, s }, { topic: 't', partition, offset: String(offset), eventTime: at + hours * HOUR });
            expected.push(JSON.stringify({ i, s }));
            if (flushPoints.includes(i)) await sink.flush();
          }
          await sink.flush();
          const written = await objects(store);
          for (const object of written) {
            expect(object.lines.length).toBeLessThanOrEqual(maxRecords);
            // A single record larger than maxBytes is alone in its object.
            if (object.lines.length > 1) expect(object.bytes).toBeLessThanOrEqual(maxBytes);
          }
          const lines = written.flatMap((o) => o.lines);
          expect(lines.sort()).toEqual([...expected].sort());
        },
      ),
      { numRuns: 150 },
    );
  });
});
