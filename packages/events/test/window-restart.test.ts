import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { serviceEnv } from '../../../scripts/test-env.js';
import {
  createEventProducer,
  createPipeline,
  embeddedLogTransport,
  kafkaTransport,
  type Transport,
  type WindowResult,
} from '../src/index.js';
import { events } from './fixtures/catalog.js';
import { collect, connectAdmin, removeTempDirs, tempDir, until } from './helpers.js';

// The Kafka case runs against the real broker started by scripts/services.sh.
const { kafkaBrokers } = serviceEnv();
const kafkaTopics: string[] = [];

afterAll(async () => {
  removeTempDirs();
  if (kafkaTopics.length === 0) return;
  const admin = await connectAdmin(kafkaBrokers);
  await admin.deleteTopics({ topics: kafkaTopics }).catch(() => {});
  await admin.disconnect();
});

const SECOND = 1000;
const T0 = Date.UTC(2026, 10, 26, 12, 0, 0);

/**
 * Tumbling 10 s windows with 10 s allowed lateness, per title. The event times
 * arrive out of order, so the window [0, 10 s) closes (and is emitted) while
 * [10 s, 20 s), opened earlier in the partition, is still open: the pipeline
 * commits no further than that open window's first event, which lies before
 * the last event of the emitted window.
 */
async function runTwice(transport: Transport, topic: string, secondSizeMs = 10 * SECOND) {
  const producer = createEventProducer({ catalog: events, source: 'test', transport, topic, spool: false });
  const emit = (seconds: number, seq: number) =>
    producer.emit(
      'play.started',
      { profileId: 'p1', titleId: 'stranger-things', country: 'FR', seq },
      { time: new Date(T0 + seconds * SECOND) },
    );
  emit(5, 0); // window 0
  emit(12, 1); // window 10: still open after the crash, so the commit stays here
  emit(8, 2); // window 0, late but within the allowed lateness
  emit(21, 3); // watermark 21 s: window 0 closes with both of its events
  await producer.flush();

  const groupId = `trending-${randomUUID()}`;
  const pipelineWith = (sink: ReturnType<typeof collect<WindowResult<number>>>, sizeMs = 10 * SECOND) => {
    const pipeline = createPipeline({ catalog: events, transport, groupId, topics: [topic], commitIntervalMs: 50 });
    pipeline
      .events('play.started')
      .window({
        sizeMs,
        allowedLatenessMs: 10 * SECOND,
        key: (e) => e.payload.titleId,
        init: () => 0,
        add: (n) => n + 1,
      })
      .to(sink);
    return pipeline;
  };

  const first = collect<WindowResult<number>>();
  const before = pipelineWith(first);
  await before.start();
  await until(() => before.metrics().processed === 4, 'the first run processed 4 events');
  await before.close();

  emit(40, 4); // after the restart: closes windows 10 s and 20 s
  await producer.close();

  const second = collect<WindowResult<number>>();
  const after = pipelineWith(second, secondSizeMs);
  await after.start();
  // Replayed from the open window's first event: 3 events again, then the new one.
  await until(() => after.metrics().processed === 4, 'the second run processed 4 events');
  const metrics = after.metrics();
  await after.close();
  const windows = (sink: typeof first) => sink.flushed.map((w) => ({ start: (w.start - T0) / SECOND, count: w.count }));
  return { first: windows(first), second: windows(second), metrics };
}

describe('windows across a restart', () => {
  const expectNoPartialWindow = (result: Awaited<ReturnType<typeof runTwice>>) => {
    expect(result.first).toEqual([{ start: 0, count: 2 }]);
    // Window 0 is not emitted again with only the event that was replayed; the others are whole.
    expect(result.second).toEqual([
      { start: 10, count: 1 },
      { start: 20, count: 1 },
    ]);
    expect(result.metrics.alreadyEmitted).toBe(1);
  };

  it('on the embedded log: the commit keeps the watermark, so an emitted window is not emitted again in part', async () => {
    const transport = embeddedLogTransport({ dir: tempDir(), pollIntervalMs: 10 });
    expectNoPartialWindow(await runTwice(transport, 'plays'));
  });

  it('restores nothing into a window of another shape (the pipeline changed between runs)', async () => {
    const transport = embeddedLogTransport({ dir: tempDir(), pollIntervalMs: 10 });
    // 20 s windows after the restart: the saved watermark was for 10 s windows, so no event is skipped.
    const result = await runTwice(transport, 'plays', 20 * SECOND);
    expect(result.metrics.alreadyEmitted).toBe(0);
    expect(result.second).toEqual([{ start: 0, count: 2 }]);
  });

  it('on Kafka: the watermark travels in the offset-commit metadata', async () => {
    const topic = `backlot-window-restart-${randomUUID()}`;
    kafkaTopics.push(topic);
    const admin = await connectAdmin(kafkaBrokers);
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
    await admin.disconnect();
    const transport = kafkaTransport({ brokers: kafkaBrokers, maxWaitTimeMs: 100 });
    expectNoPartialWindow(await runTwice(transport, topic));
  });
});
