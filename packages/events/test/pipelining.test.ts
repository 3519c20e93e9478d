import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { createEventProducer, type Transport } from '../src/index.js';
import { partitionOfKey } from '../src/transport/partitioning.js';
import type { OutgoingMessage } from '../src/transport/types.js';
import { byProfile, events } from './fixtures/catalog.js';
import { removeTempDirs, tempDir } from './helpers.js';

const PARTITIONS = 3;

/**
 * A pipelining transport as the contract in transport/types.ts describes one,
 * over an in-memory "broker" (a log per partition): each partition writes its
 * parts in call order after a random delay; every `failEvery`-th send fails one
 * of its parts, after which every part is refused until `resume()`.
 * (A fake beside the real-broker tests, to drive many failures quickly.)
 */
function flakyPipeliningTransport(pipelining: number, failEvery: number) {
  const partitions = Array.from({ length: PARTITIONS }, () => ({ tail: Promise.resolve(), log: [] as Buffer[] }));
  const stats = { sends: 0, outstanding: 0, maxOutstanding: 0, injected: 0, resumes: 0 };
  let failure: Error | undefined;
  const transport: Transport = {
    name: 'flaky-pipelining',
    producer: () => ({
      pipelining,
      connect: async () => {},
      close: async () => {},
      resume() {
        stats.resumes++;
        failure = undefined;
      },
      async send(_topic: string, messages: readonly OutgoingMessage[]) {
        const call = ++stats.sends;
        stats.outstanding++;
        stats.maxOutstanding = Math.max(stats.maxOutstanding, stats.outstanding);
        const groups = new Map<number, Buffer[]>();
        for (const m of messages) {
          const p = partitionOfKey(m.key ?? '', PARTITIONS);
          groups.set(p, [...(groups.get(p) ?? []), m.value]);
        }
        let injectInto = call % failEvery === 0 ? [...groups.keys()][call % groups.size] : undefined;
        const parts = [...groups].map(([p, values]) => {
          const partition = partitions[p] as (typeof partitions)[number];
          const part = partition.tail.then(async () => {
            await sleep(Math.random() * 3);
            if (failure) throw new Error('refused until resume()', { cause: failure });
            if (p === injectInto) {
              injectInto = undefined;
              stats.injected++;
              failure = new Error(`injected failure of send ${call}`);
              throw failure;
            }
            partition.log.push(...values);
          });
          partition.tail = part.catch(() => {});
          return part;
        });
        const results = await Promise.allSettled(parts);
        stats.outstanding--;
        const failed = results.find((r) => r.status === 'rejected');
        if (failed) throw failed.reason;
      },
    }),
    consumer: () => {
      throw new Error('not used');
    },
  };
  return { transport, partitions, stats };
}

describe('pipelined sends (several batches in flight)', () => {
  it('keeps every event and each key in emit order through many failures, resending failed batches first', async () => {
    const { transport, partitions, stats } = flakyPipeliningTransport(4, 7);
    const producer = createEventProducer({
      catalog: events,
      source: 'play-api',
      transport,
      topic: 'plays',
      key: byProfile,
      spool: { dir: tempDir() },
      batch: { maxEvents: 50, lingerMs: 1 },
      retry: { initialDelayMs: 1, maxDelayMs: 5 },
    });
    const N = 5000;
    const emitted: string[] = [];
    for (let seq = 0; seq < N; seq++) {
      const payload = { profileId: `p${seq % 13}`, titleId: 't', country: 'FR', seq };
      emitted.push(producer.emitEnvelope('play.started', payload).id);
      if (seq % 500 === 0) await sleep(1);
    }
    await producer.flush();
    const metrics = producer.metrics();
    await producer.close();
    removeTempDirs();

    // The window was used, and failures happened and were retried.
    expect(stats.maxOutstanding).toBeGreaterThan(1);
    expect(stats.maxOutstanding).toBeLessThanOrEqual(4);
    expect(stats.injected).toBeGreaterThan(5);
    expect(stats.resumes).toBeGreaterThan(0);
    expect(metrics).toMatchObject({ emitted: N, sent: N, dropped: 0 });
    expect(metrics.failedBatches).toBeGreaterThan(0);
    expect(metrics.retried).toBeGreaterThan(0);

    // Every event is in the log (at least once); after de-duplication (first
    // copy wins) each key's events are in emit order.
    const firstSeen = new Set<string>();
    const seqsByKey = new Map<string, number[]>();
    let written = 0;
    for (const partition of partitions) {
      for (const value of partition.log) {
        written++;
        const event = events.decode(value);
        if (firstSeen.has(event.id)) continue;
        firstSeen.add(event.id);
        const { profileId, seq } = event.payload as { profileId: string; seq: number };
        seqsByKey.set(profileId, [...(seqsByKey.get(profileId) ?? []), seq]);
      }
    }
    expect(firstSeen.size).toBe(N);
    expect([...firstSeen].sort()).toEqual([...emitted].sort());
    expect(written).toBeGreaterThanOrEqual(N);
    expect(seqsByKey.size).toBe(13);
    for (const seqs of seqsByKey.values()) expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
  });

  it('sends one batch at a time to a transport without resume(), whatever its pipelining says', async () => {
    const { transport, stats } = flakyPipeliningTransport(4, 1_000_000);
    const inner = transport.producer();
    const oneAtATime: Transport = {
      ...transport,
      producer: () => ({ pipelining: 4, connect: inner.connect, close: inner.close, send: inner.send }),
    };
    const producer = createEventProducer({
      catalog: events,
      source: 'play-api',
      transport: oneAtATime,
      topic: 'plays',
      key: byProfile,
      spool: false,
      batch: { maxEvents: 20, lingerMs: 1 },
    });
    for (let seq = 0; seq < 1000; seq++) {
      producer.emit('play.started', { profileId: `p${seq % 5}`, titleId: 't', country: 'FR', seq });
    }
    await producer.close();
    expect(producer.metrics()).toMatchObject({ sent: 1000, dropped: 0 });
    expect(stats.maxOutstanding).toBe(1);
  });
});
