import { gunzipSync } from 'node:zlib';
import { createKeyValueStore, createMemoryStore } from '@backlot/storage';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  createEventProducer,
  createPipeline,
  embeddedLogTransport,
  isClosedError,
  isInvalidEventError,
  keyValueSink,
  objectStoreSink,
} from '../src/index.js';
import { byProfile, events } from './fixtures/catalog.js';
import { collect, removeTempDirs, tempDir } from './helpers.js';

afterEach(removeTempDirs);

async function until(check: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('producer and pipeline on the embedded log (no broker)', () => {
  it('emits typed events, rejects invalid ones (counted), and a pipeline consumes them in order per key', async () => {
    const transport = embeddedLogTransport({ dir: tempDir(), partitions: 3 });
    const producer = createEventProducer({
      catalog: events,
      source: 'play-api',
      transport,
      key: byProfile,
      traceId: () => 'req-7',
      spool: { dir: tempDir() },
    });
    for (let seq = 0; seq < 300; seq++) {
      producer.emit('play.started', { profileId: `p${seq % 7}`, titleId: `t${seq % 3}`, country: 'FR', seq });
    }
    expect(() =>
      producer.emit('play.started', { profileId: '', titleId: 't', country: 'FRA', seq: 1.5 } as never),
    ).toThrow(/payload.profileId.*payload.country.*payload.seq/);
    await producer.flush();
    const m = producer.metrics();
    expect(m).toMatchObject({ emitted: 300, invalid: 1, sent: 300, dropped: 0, buffered: 0, spoolPending: 0 });
    await producer.close();
    expect(() => producer.emit('search.performed', { profileId: 'p', query: 'q' })).toThrow(
      expect.objectContaining({ code: 'BACKLOT_EVENTS_CLOSED' }),
    );

    const sink = collect<{ profileId: string; seq: number; traceId: string | undefined }>();
    const pipeline = createPipeline({ catalog: events, transport, groupId: 'g1', commitIntervalMs: 50 });
    pipeline
      .events('play.started')
      .map((event) => ({ profileId: event.payload.profileId, seq: event.payload.seq, traceId: event.traceId }))
      .to(sink);
    await pipeline.start();
    await until(() => sink.flushed.length === 300, '300 events');
    await pipeline.close();
    expect(sink.flushed.every((e) => e.traceId === 'req-7')).toBe(true);
    for (let p = 0; p < 7; p++) {
      const seqs = sink.flushed.filter((e) => e.profileId === `p${p}`).map((e) => e.seq);
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    }

    // Committed: a new run of the same group sees nothing old.
    const again = collect<unknown>();
    const second = createPipeline({ catalog: events, transport, groupId: 'g1', commitIntervalMs: 50 });
    second.events().to(again);
    await second.start();
    await new Promise((resolve) => setTimeout(resolve, 200));
    await second.close();
    expect(again.flushed).toEqual([]);
  });

  it('sends undecodable events to the dead-letter topic and keeps going', async () => {
    const transport = embeddedLogTransport({ dir: tempDir() });
    const raw = transport.producer();
    const good = events.envelope('search.performed', { profileId: 'p', query: 'dark' }, { source: 's' });
    await raw.send('events', [
      { key: null, value: Buffer.from('{"not":"an event"}'), timestamp: Date.now() },
      { key: null, value: events.encode(good), timestamp: Date.now() },
    ]);
    const sink = collect<string>();
    const pipeline = createPipeline({ catalog: events, transport, groupId: 'g', commitIntervalMs: 50 });
    pipeline
      .events()
      .map((e) => e.id)
      .to(sink);
    await pipeline.start();
    await until(() => sink.flushed.length === 1, 'the good event');
    await pipeline.close();
    expect(sink.flushed).toEqual([good.id]);
    expect(pipeline.metrics().deadLettered).toBe(1);

    const dead = collect<unknown>();
    const reader = createPipeline({
      catalog: events,
      transport,
      groupId: 'dlq-reader',
      topics: ['events.dead-letter'],
      deadLetterTopic: false,
    });
    // Dead letters are not events of the catalogue: read them raw through the transport.
    const consumer = transport.consumer({ groupId: 'raw' });
    const seen: string[] = [];
    await consumer.run({
      topics: ['events.dead-letter'],
      fromBeginning: true,
      handler: async (batch) => {
        for (const message of batch.messages) seen.push(message.value?.toString() ?? '');
      },
    });
    await until(() => seen.length === 1, 'the dead letter');
    await consumer.close();
    expect(JSON.parse(seen[0] as string)).toMatchObject({ stage: 'decode', source: { topic: 'events', offset: '0' } });
    expect(dead.flushed).toEqual([]);
    expect(reader.metrics().consumed).toBe(0);
  });

  it('computes trending titles per country per minute and continue-watching lists, with an object-store sink', async () => {
    const transport = embeddedLogTransport({ dir: tempDir() });
    const producer = createEventProducer({
      catalog: events,
      source: 'play-api',
      transport,
      key: byProfile,
      spool: false,
    });
    const minute = Date.UTC(2026, 10, 26, 10, 0, 0);
    const plays: [string, string, string, number][] = [
      ['p1', 't1', 'FR', minute + 1_000],
      ['p2', 't1', 'FR', minute + 2_000],
      ['p3', 't2', 'FR', minute + 3_000],
      ['p4', 't1', 'DE', minute + 4_000],
      ['p1', 't2', 'FR', minute + 61_000], // next minute: closes the first
      ['p5', 't1', 'FR', minute + 30_000], // late, within the allowed lateness: still counted
      ['p6', 't9', 'FR', minute + 130_000], // closes the second minute
      ['p7', 't9', 'FR', minute + 10_000], // too late: counted, dropped
    ];
    for (const [profileId, titleId, country, time] of plays) {
      producer.emit('play.started', { profileId, titleId, country, seq: 0 }, { time: new Date(time) });
    }
    producer.emit('bookmark.set', { profileId: 'p1', titleId: 't1', positionMs: 10 }, { time: new Date(minute) });
    producer.emit('bookmark.set', { profileId: 'p1', titleId: 't2', positionMs: 20 }, { time: new Date(minute + 1) });
    producer.emit('bookmark.set', { profileId: 'p1', titleId: 't1', positionMs: 30 }, { time: new Date(minute + 2) });
    producer.emit(
      'bookmark.set',
      { profileId: 'p2', titleId: 't3', positionMs: 5 },
      { time: new Date(minute + 200_000) },
    );
    await producer.close();

    const store = createMemoryStore();
    const lists = createKeyValueStore({ store }).namespace('continue-watching', z.array(z.string()));
    const pipeline = createPipeline({ catalog: events, transport, groupId: 'trending', commitIntervalMs: 50 });
    pipeline
      .events('play.started')
      .window({
        sizeMs: 60_000,
        allowedLatenessMs: 35_000,
        key: (e) => `${e.payload.country}/${e.payload.titleId}`,
        init: () => 0,
        add: (count) => count + 1,
      })
      .to(objectStoreSink({ store, prefix: 'trending/', name: 'plays-per-minute', maxRecords: 1000 }));
    pipeline
      .events('bookmark.set')
      .window({
        sizeMs: 120_000,
        key: (e) => e.payload.profileId,
        init: () => [] as string[],
        add: (titles, e) => [e.payload.titleId, ...titles.filter((t) => t !== e.payload.titleId)],
      })
      .to(keyValueSink({ target: lists, key: (w) => w.key, value: (w) => w.value }));
    await pipeline.start();
    await until(() => pipeline.metrics().consumed === 12, 'all events');
    await pipeline.close();

    const keys: string[] = [];
    for await (const entry of store.list({ prefix: 'trending/' })) if (entry.type === 'object') keys.push(entry.key);
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatch(
      /^trending\/plays-per-minute\/date=2026-11-26\/hour=10\/plays-per-minute\+0\+\d{20}\.ndjson\.gz$/,
    );
    const lines = gunzipSync((await store.get(keys[0] as string)).body)
      .toString()
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { key: string; start: number; count: number });
    const counts = Object.fromEntries(
      lines.map((w) => [`${new Date(w.start).toISOString().slice(11, 16)} ${w.key}`, w.count]),
    );
    // 10:01 is not emitted: event time reached 10:02:10, short of its end plus the allowed lateness (10:02:35).
    expect(counts).toEqual({ '10:00 FR/t1': 3, '10:00 FR/t2': 1, '10:00 DE/t1': 1 });
    expect(pipeline.metrics().late).toBe(1);
    expect((await lists.get('p1'))?.value).toEqual(['t1', 't2']);
    expect(await lists.get('p2')).toBeUndefined(); // its window is still open: not emitted, not committed
  });

  it('validates options at the boundary, naming the field and the fix', () => {
    expect(() => createEventProducer({ catalog: events, source: '' })).toThrow(/source must not be empty/);
    expect(() => createEventProducer({ catalog: events, source: 's', batch: { lingerMs: -1 }, spool: false })).toThrow(
      /batch.lingerMs must be 0 or more/,
    );
    expect(() => createEventProducer({ catalog: events, source: 's', degradedAfterMs: 0, spool: false })).toThrow(
      /degradedAfterMs must be positive/,
    );
    expect(() =>
      createEventProducer({ catalog: events, source: 's', degradedAfterMs: '3s' as unknown as number, spool: false }),
    ).toThrow(/degradedAfterMs must be a number of ms, e.g. 3000/);
    expect(() => embeddedLogTransport({ dir: '' })).toThrow(/dir must not be empty/);
    expect(() => createPipeline({ catalog: events, groupId: '' })).toThrow(/groupId must not be empty/);
    try {
      createEventProducer({ catalog: events, source: 's', spool: false }).emit('play.started', {} as never);
    } catch (error) {
      expect(isInvalidEventError(error)).toBe(true);
    }
    expect(isClosedError(new Error('x'))).toBe(false);
  });
});
