import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { isEventTooLargeError, isFlushTimeoutError } from '../src/index.js';
import type { LogRecord } from '../src/log/record.js';
import { Admission } from '../src/producer/admission.js';
import { Batcher } from '../src/producer/batching.js';
import { type Pending, pending } from '../src/producer/pending.js';
import { RecordQueue } from '../src/producer/record-queue.js';
import { recordBytes, TopicSizeLimits } from '../src/producer/size-limits.js';
import { Waiters } from '../src/producer/waiters.js';
import { Spool } from '../src/spool/spool.js';
import { DEFAULT_MAX_MESSAGE_BYTES } from '../src/transport/lane-sender.js';
import { silentLogger } from '../src/util/logger.js';
import { removeTempDirs, tempDir } from './helpers.js';

// Unit tests of the producer's parts; the producer as a whole is tested on the real broker and the embedded log.
afterAll(() => removeTempDirs());

const record = (i: number, bytes = 100): Pending =>
  pending({ topic: 'events', key: `k${i}`, value: Buffer.alloc(bytes, i % 256), timestamp: i });
const indexOf = (r: LogRecord) => r.timestamp;

describe('admission', () => {
  const admission = (options: {
    bufferBytes: number;
    overflow: 'block' | 'drop';
    spool?: Spool;
    writeThrough?: boolean;
  }) => {
    const counts = { spooled: 0, dropped: 0 };
    return {
      counts,
      admission: new Admission({
        spool: options.spool,
        writeThrough: options.writeThrough ?? false,
        bufferBytes: options.bufferBytes,
        overflow: options.overflow,
        logger: silentLogger,
        counts,
      }),
    };
  };

  it('property: memory, then spool, then held keep one FIFO order; held records are admitted oldest first', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 1, max: 400 }), { minLength: 1, maxLength: 80 }),
        fc.integer({ min: 600, max: 2000 }),
        fc.integer({ min: 1000, max: 4000 }),
        async (sizes, bufferBytes, spoolBytes) => {
          const spool = Spool.open({ dir: tempDir(), maxBytes: spoolBytes, segmentBytes: 1 << 20, fsync: false });
          const { admission: a, counts } = admission({ bufferBytes, overflow: 'block', spool });
          const places = sizes.map((size, i) => a.place(record(i, size)));
          // Once a record went to the spool, none after it went to memory; once one was held, all after it were.
          const firstSpool = places.indexOf('spool');
          if (firstSpool >= 0) expect(places.slice(firstSpool).includes('memory')).toBe(false);
          const firstHeld = places.indexOf('held');
          if (firstHeld >= 0) expect(places.slice(firstHeld).every((p) => p === 'held')).toBe(true);
          expect(counts).toEqual({ spooled: places.filter((p) => p === 'spool').length, dropped: 0 });
          // Drain memory and spool, then admit what was held: the overall order is the emit order.
          const seen: number[] = [];
          for (let r = a.memory.shift(); r; r = a.memory.shift()) seen.push(indexOf(r));
          // Every record fits in an empty buffer, so each round admits at least one.
          for (let round = 0; round <= sizes.length && (a.held.length > 0 || spool.pendingRecords > 0); round++) {
            await spool.written();
            for (let b = await spool.read(1000, 1 << 20); b; b = await spool.read(1000, 1 << 20)) {
              seen.push(...b.records.map(indexOf));
              spool.ack(b);
            }
            for (let r = a.memory.shift(); r; r = a.memory.shift()) seen.push(indexOf(r));
            a.admitHeld();
            for (let r = a.memory.shift(); r; r = a.memory.shift()) seen.push(indexOf(r));
          }
          expect(seen).toEqual(sizes.map((_, i) => i));
          await spool.close();
        },
      ),
      { numRuns: 40 },
    );
  });

  it("overflow 'drop': counts every record it drops, keeps the rest", () => {
    const { admission: a, counts } = admission({ bufferBytes: 1000, overflow: 'drop' });
    const places = Array.from({ length: 20 }, (_, i) => a.place(record(i, 100)));
    expect(places.filter((p) => p === 'memory').length).toBe(a.memory.length);
    expect(counts.dropped).toBe(places.filter((p) => p === 'dropped').length);
    expect(counts.dropped).toBeGreaterThan(0);
    expect(a.keepingUp()).toBe(false);
  });
});

describe('topic size limits', () => {
  it('checks against the limit the transport reports, Kafka’s default until then, and lowers it when the broker refuses a record', async () => {
    let reported: number | undefined = 2000;
    let asked = 0;
    const limits = new TopicSizeLimits({
      maxMessageBytes: async () => {
        asked++;
        return reported;
      },
    });
    const big = { topic: 't', key: null, value: Buffer.alloc(3000), timestamp: 0 };
    expect(limits.limitOf('t')).toBe(DEFAULT_MAX_MESSAGE_BYTES);
    limits.check('e', big); // not known yet: the default lets it through
    await new Promise((resolve) => setImmediate(resolve));
    expect(limits.limitOf('t')).toBe(2000);
    let thrown: unknown;
    try {
      limits.check('e', big);
    } catch (error) {
      thrown = error;
    }
    expect(isEventTooLargeError(thrown)).toBe(true);
    expect(thrown).toMatchObject({ topic: 't', bytes: recordBytes(big), limit: 2000 });
    // A record refused by the broker: the limit drops below it at once, and is asked again.
    reported = undefined;
    const refused = { topic: 't', key: 'k', value: Buffer.alloc(1500), timestamp: 0 };
    limits.refused(refused);
    expect(limits.limitOf('t')).toBe(recordBytes(refused) - 1);
    expect(() => limits.check('e', refused)).toThrow(/accepts at most/);
    expect(asked).toBeGreaterThanOrEqual(2);
  });

  it('counts a key in UTF-8 bytes', () => {
    const limits = new TopicSizeLimits({});
    const key = 'é'.repeat(600_000); // 1.2 MB in UTF-8, 600,000 UTF-16 units
    expect(() => limits.check('e', { topic: 't', key, value: Buffer.alloc(1), timestamp: 0 })).toThrow(/accepts/);
  });
});

describe('waiters', () => {
  it('resolves each waiter at the first settle() after its condition holds, and times out naming what is pending', async () => {
    const waiters = new Waiters();
    let state = 0;
    const order: string[] = [];
    const a = waiters.until(() => state >= 1).then(() => order.push('a'));
    const b = waiters.until(() => state >= 2).then(() => order.push('b'));
    state = 1;
    waiters.settle();
    await a;
    expect(order).toEqual(['a']);
    let thrown: unknown;
    try {
      await waiters.untilWithin(
        () => state >= 3,
        10,
        () => 42,
      );
    } catch (error) {
      thrown = error;
    }
    expect(isFlushTimeoutError(thrown)).toBe(true);
    expect(thrown).toMatchObject({ pending: 42 });
    waiters.releaseAll();
    await b;
    expect(order).toEqual(['a', 'b']);
  });
});

describe('batching', () => {
  it('property: batches from memory keep the order, one topic each, within maxEvents and maxBytes (one larger event alone)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom('a', 'b'), fc.integer({ min: 1, max: 300 })), {
          minLength: 1,
          maxLength: 100,
        }),
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 50, max: 1000 }),
        (events, maxEvents, maxBytes) => {
          const memory = new RecordQueue<Pending>();
          events.forEach(([topic, size], i) => {
            memory.push(pending({ topic, key: null, value: Buffer.alloc(size), timestamp: i }));
          });
          const batcher = new Batcher({ memory, spool: undefined, maxEvents, maxBytes, lingerMs: 5 });
          const seen: number[] = [];
          for (let batch = batcher.take(); batch; batch = batcher.take()) {
            expect(batch.from).toBe('memory');
            expect(batch.records.length).toBeLessThanOrEqual(maxEvents);
            expect(batch.records.every((r) => r.topic === batch.topic)).toBe(true);
            const bytes = batch.records.reduce((sum, r) => sum + r.value.length, 0);
            if (batch.records.length > 1) expect(bytes).toBeLessThanOrEqual(maxBytes);
            seen.push(...batch.records.map(indexOf));
          }
          expect(seen).toEqual(events.map((_, i) => i));
        },
      ),
    );
  });

  it('starts a batch when full, lingered, flushing or replaying the spool; reads the spool once memory is empty', async () => {
    const memory = new RecordQueue<Pending>();
    const spool = Spool.open({ dir: tempDir(), maxBytes: 1 << 20, segmentBytes: 1 << 20, fsync: false });
    const batcher = new Batcher({ memory, spool, maxEvents: 3, maxBytes: 1 << 20, lingerMs: 5 });
    expect(batcher.ready(false, 0)).toBe(false);
    memory.push(record(100));
    expect(batcher.ready(false, 100)).toBe(false);
    expect(batcher.ready(false, 105)).toBe(true);
    expect(batcher.ready(true, 100)).toBe(true);
    memory.push(record(101));
    memory.push(record(102));
    expect(batcher.full()).toBe(true);
    expect(batcher.take()?.records.map(indexOf)).toEqual([100, 101, 102]);
    spool.appendSoon([record(1), record(2)]);
    expect(batcher.ready(false, 0)).toBe(true);
    await spool.written();
    // The spool is read ahead off the caller's turn: the first take starts the read, readable() says when it is done.
    expect(batcher.take()).toBeUndefined();
    let replay = batcher.take();
    while (!replay) {
      await spool.readable();
      replay = batcher.take();
    }
    expect(replay).toMatchObject({ from: 'spool' });
    expect(replay?.records.map(indexOf)).toEqual([1, 2]);
    await spool.close();
  });
});
