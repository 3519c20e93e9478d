import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { TransportSendError } from '../src/errors.js';
import { Admission } from '../src/producer/admission.js';
import { backoffDelay } from '../src/producer/backoff.js';
import { Batcher } from '../src/producer/batching.js';
import { type Pending, pending } from '../src/producer/pending.js';
import { RecordQueue } from '../src/producer/record-queue.js';
import { type SendOutcome, sendRecords } from '../src/producer/send-outcome.js';
import { SendWindow } from '../src/producer/send-window.js';
import { type SpillContext, spillAfterFailure, spillOnClose } from '../src/producer/shutdown.js';
import { Spool } from '../src/spool/spool.js';
import type { OutgoingMessage, TransportProducer } from '../src/transport/types.js';
import { silentLogger } from '../src/util/logger.js';
import { removeTempDirs, tempDir } from './helpers.js';

// Unit tests of the producer's send window, its failure contract with the transport, its backoff and its spilling.
afterAll(() => removeTempDirs());

const record = (i: number, topic = 'events'): Pending =>
  pending({ topic, key: `k${i}`, value: Buffer.from(`v${i}`), timestamp: i });
const indexOf = (r: { timestamp: number }) => r.timestamp;

/** A window over a memory queue of `count` records in batches of `maxEvents`, whose sends the test settles by hand. */
function windowOver(count: number, maxEvents: number, maxInFlight: number) {
  const memory = new RecordQueue<Pending>();
  for (let i = 0; i < count; i++) memory.push(record(i));
  const batcher = new Batcher({ memory, spool: undefined, maxEvents, maxBytes: 1 << 20, lingerMs: 0 });
  const sends: { records: readonly Pending[]; settle: (outcome: SendOutcome) => void }[] = [];
  const partlySent: number[] = [];
  const rejected: number[] = [];
  const window = new SendWindow({
    batcher,
    maxInFlight,
    send: (records) => new Promise<SendOutcome>((settle) => sends.push({ records, settle })),
    onRejected: (refused) => rejected.push(...refused.map((r) => indexOf(r.message))),
    onPartlySent: (records) => partlySent.push(...records.map(indexOf)),
    onTaken: () => {},
  });
  return { window, sends, partlySent, rejected, memory };
}

describe('the send window', () => {
  it('keeps at most maxInFlight batches in flight, oldest first', () => {
    const { window, sends } = windowOver(10, 2, 3);
    window.fill(false, 0);
    expect(window.size).toBe(3);
    expect(sends.map((s) => s.records.map(indexOf))).toEqual([
      [0, 1],
      [2, 3],
      [4, 5],
    ]);
    expect(window.head?.records.map(indexOf)).toEqual([0, 1]);
  });

  it('after a failure: waits for every send, keeps only what was not acknowledged, sends the failed ones again first', async () => {
    const { window, sends, partlySent, rejected } = windowOver(6, 2, 3);
    window.fill(false, 0);
    const [first, second, third] = sends as [(typeof sends)[0], (typeof sends)[0], (typeof sends)[0]];
    // The oldest: 0 acknowledged, 1 not; the second: acknowledged, 3 refused for good; the third fails whole.
    first.settle({ ok: false, error: new Error('outage'), rejected: [], unsent: [first.records[1] as Pending] });
    second.settle({
      ok: true,
      rejected: [{ message: second.records[1] as Pending, code: 'MESSAGE_TOO_LARGE', reason: 'too large' }],
    });
    const failing = window.failed();
    third.settle({ ok: false, error: new Error('outage'), rejected: [], unsent: [...third.records] });
    const failed = await failing;
    expect(failed.map((batch) => batch.records.map(indexOf))).toEqual([[1], [4, 5]]);
    expect(partlySent).toEqual([0]);
    expect(rejected).toEqual([3]);
    // Backing off: nothing is sent.
    window.fill(false, 0);
    expect(sends.length).toBe(3);
    window.resume(failed);
    window.fill(false, 0);
    expect(sends.slice(3).map((s) => s.records.map(indexOf))).toEqual([[1], [4, 5]]);
  });

  it('drains what is left, oldest first, separating the acknowledged batches and what came from memory', async () => {
    const { window, sends } = windowOver(6, 2, 3);
    window.fill(false, 0);
    (sends[1] as (typeof sends)[0]).settle({ ok: true, rejected: [] });
    await new Promise((resolve) => setImmediate(resolve));
    expect(window.recordsFromMemory()).toBe(6);
    const left = window.drain();
    expect(left.older.map(indexOf)).toEqual([0, 1, 4, 5]);
    expect(left.fromMemory.map(indexOf)).toEqual([0, 1, 4, 5]);
    expect(left.acknowledged.map((batch) => batch.records.map(indexOf))).toEqual([[2, 3]]);
    expect(window.size).toBe(0);
  });
});

describe('the producer ↔ transport failure contract', () => {
  /** A transport whose send answers from `answer`, recording the runs it was given. */
  const transport = (answer: (topic: string, messages: readonly OutgoingMessage[]) => Promise<unknown>) => {
    const runs: string[] = [];
    const producer: TransportProducer = {
      connect: async () => {},
      close: async () => {},
      send: async (topic, messages) => {
        runs.push(`${topic}:${messages.map((m) => indexOf(m)).join(',')}`);
        await answer(topic, messages);
      },
    };
    return { producer, runs };
  };

  it('sends a batch in same-topic runs; after a failed run, the later ones are not sent (not pipelined)', async () => {
    const { producer, runs } = transport(async (topic) => {
      if (topic === 'b') throw new Error('outage');
    });
    const records = [record(0, 'a'), record(1, 'b'), record(2, 'b'), record(3, 'c')];
    const outcome = await sendRecords(producer, records, false);
    expect(runs).toEqual(['a:0', 'b:1,2']);
    expect(outcome.ok).toBe(false);
    expect(!outcome.ok && outcome.unsent.map(indexOf)).toEqual([1, 2, 3]);
  });

  it('a TransportSendError names what is left; any other error means nothing of its run was acknowledged', async () => {
    const { producer } = transport(async (topic, messages) => {
      if (topic === 'a') throw new TransportSendError('part failed', [messages[1] as OutgoingMessage], []);
      throw new Error('outage');
    });
    const records = [record(0, 'a'), record(1, 'a'), record(2, 'b')];
    const outcome = await sendRecords(producer, records, true);
    expect(!outcome.ok && outcome.unsent.map(indexOf)).toEqual([1, 2]);
  });
});

describe('backoff', () => {
  it('grows exponentially from the initial delay, never beyond the maximum, with jitter of at most half', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 100 }),
        fc.integer({ min: 1, max: 1000 }),
        fc.integer({ min: 1, max: 60_000 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (failures, initialDelayMs, maxDelayMs, random) => {
          const delay = backoffDelay(failures, { initialDelayMs, maxDelayMs }, () => random);
          const full = Math.min(maxDelayMs, initialDelayMs * 2 ** Math.min(failures - 1, 20));
          expect(delay).toBeGreaterThanOrEqual(full / 2);
          expect(delay).toBeLessThanOrEqual(Math.min(full, maxDelayMs));
        },
      ),
    );
  });
});

describe('spilling', () => {
  const context = (spool: Spool | undefined) => {
    const counts = { spooled: 0, dropped: 0 };
    const admission = new Admission({
      spool,
      writeThrough: false,
      bufferBytes: 1 << 20,
      overflow: 'block',
      logger: silentLogger,
      counts,
    });
    const spill: SpillContext = {
      spool,
      memory: admission.memory,
      held: admission.held,
      admission,
      writeThrough: false,
      counts,
      logger: silentLogger,
    };
    return { spill, counts };
  };
  const drainSpool = async (spool: Spool) => {
    const seen: number[] = [];
    for (let b = await spool.read(100, 1 << 20); b; b = await spool.read(100, 1 << 20)) {
      seen.push(...b.records.map(indexOf));
      spool.ack(b);
    }
    return seen;
  };

  it('after a failure: what was in flight, then memory, go to the front of the spool, in order', async () => {
    const spool = Spool.open({ dir: tempDir(), maxBytes: 1 << 20, segmentBytes: 1 << 20, fsync: false });
    spool.append([record(10), record(11)]);
    const { spill, counts } = context(spool);
    spill.memory.push(record(2));
    spill.memory.push(record(3));
    await spillAfterFailure(spool, spill, {
      older: [record(0), record(1)],
      outstanding: [],
      fromMemory: [record(0), record(1)],
      acknowledged: [],
    });
    expect(spill.memory.length).toBe(0);
    expect(counts.spooled).toBe(4);
    expect(await drainSpool(spool)).toEqual([0, 1, 2, 3, 10, 11]);
    await spool.close();
  });

  it('on close without a spool: counts every undelivered event as dropped (never silent)', async () => {
    const { spill, counts } = context(undefined);
    spill.memory.push(record(2));
    spill.held.push(record(3));
    await spillOnClose(spill, { older: [record(1)], outstanding: [], fromMemory: [record(1)], acknowledged: [] });
    expect(counts.dropped).toBe(3);
  });

  it('on close with a spool: in flight, memory, then held, in order', async () => {
    const spool = Spool.open({ dir: tempDir(), maxBytes: 1 << 20, segmentBytes: 1 << 20, fsync: false });
    const { spill, counts } = context(spool);
    spill.memory.push(record(1));
    spill.held.push(record(2));
    await spillOnClose(spill, { older: [record(0)], outstanding: [], fromMemory: [record(0)], acknowledged: [] });
    await spool.written();
    expect(counts.spooled).toBe(3);
    expect(await drainSpool(spool)).toEqual([0, 1, 2]);
    await spool.close();
  });
});
