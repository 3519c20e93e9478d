/**
 * `npm run bench -- events-pipeline`: a pipeline with a window on the real
 * Kafka broker, with and without checkpointed window state, side by side in
 * one run (see bench/lib/harness.ts).
 *
 * The topic (3 partitions) holds BENCH_EVENTS play events (default 200,000)
 * spread over 10 minutes of event time, 1,000 titles, produced once per run.
 * Each subject consumes all of it in a fresh consumer group through a 60 s
 * hopping window (every 10 s) per title into a counting sink:
 *
 * - backlot-window: no checkpoints; offsets are held back to the oldest open
 *   window's first event (the pre-checkpoint design, kept when `checkpoints`
 *   is not set).
 * - backlot-checkpointed: `checkpoints: kafkaCheckpoints({ brokers })`: every
 *   commit interval (1 s, the default) each partition's changed window slots,
 *   closed-window deletions and its offset are written in one Kafka
 *   transaction to a compacted changelog.
 * - kafkajs-consumer: a raw kafkajs consumer (`eachBatch`, `JSON.parse` of
 *   each value), the ceiling of what any pipeline on kafkajs can consume.
 *
 * Figures: events_per_s from the 5 % point to the last event (group join and
 * restore excluded; events counted as they are processed, so a whole fetch
 * handed over at once does not count as instant), start_ms (start() to the
 * first event: join, changelog topic, fencing, restore), cpu_us_per_event,
 * peak_rss_mib.
 */
import { randomUUID } from 'node:crypto';
import {
  createEventProducer,
  createPipeline,
  defineEventCatalog,
  ensureTopics,
  kafkaCheckpoints,
  kafkaTransport,
} from '@backlot/events';
import { Kafka, logLevel } from 'kafkajs';
import { z } from 'zod';
import { serviceEnv } from '../scripts/test-env.ts';
import { type Figures, runBench } from './lib/harness.ts';

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';
const EVENTS = Number(process.env.BENCH_EVENTS ?? 200_000);
const SPAN_MS = 600_000;
const T0 = Date.UTC(2026, 0, 1);
const { kafkaBrokers } = serviceEnv();
const kafka = new Kafka({ clientId: 'bench-events-pipeline', brokers: kafkaBrokers, logLevel: logLevel.NOTHING });
const created: string[] = [];

const catalog = defineEventCatalog({
  'play.started': {
    version: 1,
    payload: z.object({ profileId: z.string().min(1), titleId: z.string(), country: z.string().length(2) }),
  },
});

let source: Promise<string> | undefined;
function sourceTopic(): Promise<string> {
  source ??= (async () => {
    const topic = `bench-pipeline-${randomUUID()}`;
    created.push(topic);
    await ensureTopics({ brokers: kafkaBrokers, topics: [{ topic, partitions: 3, retentionMs: 3_600_000 }] });
    const producer = createEventProducer({
      catalog,
      source: 'bench',
      transport: kafkaTransport({ brokers: kafkaBrokers }),
      topic,
      key: (e) => e.payload.profileId,
      spool: false,
    });
    for (let i = 0; i < EVENTS; i++) {
      const payload = { profileId: `p${i % 997}`, titleId: `t${i % 1000}`, country: 'FR' };
      const time = new Date(T0 + Math.floor((i * SPAN_MS) / EVENTS));
      if (!producer.emit('play.started', payload, { time })) await producer.ready();
    }
    await producer.close();
    return topic;
  })();
  return source;
}

/** Counts processed events and when the 5 % mark and the last one were reached. */
class Tally {
  count = 0;
  firstAt = 0;
  markAt = 0;
  lastAt = 0;
  readonly #mark = Math.floor(EVENTS * 0.05);
  tick(): void {
    this.count++;
    if (this.count === 1) this.firstAt = performance.now();
    if (this.count === this.#mark) this.markAt = performance.now();
    if (this.count === EVENTS) this.lastAt = performance.now();
  }
}

/** Starts a subject, waits for every event, and returns its figures. */
async function measure(tally: Tally, start: () => Promise<void>, stop: () => Promise<void>): Promise<Figures> {
  let peak = process.memoryUsage().rss;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 20);
  const began = performance.now();
  const cpu = process.cpuUsage();
  await start();
  while (tally.count < EVENTS) await new Promise((resolve) => setTimeout(resolve, 5));
  const used = process.cpuUsage(cpu);
  clearInterval(sampler);
  await stop();
  return {
    events_per_s: (EVENTS - Math.floor(EVENTS * 0.05)) / ((tally.lastAt - tally.markAt) / 1000),
    start_ms: tally.firstAt - began,
    cpu_us_per_event: (used.user + used.system) / EVENTS,
    peak_rss_mib: peak / 1024 / 1024,
  };
}

async function windowPipeline(checkpointed: boolean): Promise<Figures> {
  const topic = await sourceTopic();
  const groupId = `bench-${randomUUID()}`;
  if (checkpointed) created.push(`${groupId}-state-changelog`);
  const pipeline = createPipeline({
    catalog,
    transport: kafkaTransport({ brokers: kafkaBrokers, maxWaitTimeMs: 100 }),
    groupId,
    topics: [topic],
    deadLetterTopic: false,
    ...(checkpointed ? { checkpoints: kafkaCheckpoints({ brokers: kafkaBrokers }) } : {}),
  });
  let results = 0;
  const tally = new Tally();
  pipeline.events().filter(() => {
    tally.tick();
    return false;
  });
  pipeline
    .events('play.started')
    .window({
      type: 'hopping',
      sizeMs: 60_000,
      advanceMs: 10_000,
      key: (e) => e.payload.titleId,
      init: () => 0,
      add: (n) => n + 1,
    })
    .to({
      name: 'count',
      write: () => {
        results++;
      },
      flush: async () => {},
    });
  const figures = await measure(
    tally,
    () => pipeline.start(),
    () => pipeline.close(),
  );
  if (results === 0) throw new Error('no window closed: the bench measured nothing');
  return figures;
}

async function rawKafkajs(): Promise<Figures> {
  const topic = await sourceTopic();
  const consumer = kafka.consumer({ groupId: `bench-${randomUUID()}`, maxWaitTimeInMs: 100 });
  const tally = new Tally();
  return measure(
    tally,
    async () => {
      await consumer.connect();
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachBatch: async ({ batch }) => {
          for (const message of batch.messages) {
            JSON.parse((message.value as Buffer).toString('utf8'));
            tally.tick();
          }
        },
      });
    },
    () => consumer.disconnect(),
  );
}

export default async function run() {
  console.log(
    `events-pipeline: ${EVENTS} events (3 partitions, 1,000 titles, 60 s hopping windows every 10 s), broker ${kafkaBrokers.join(',')}.`,
  );
  try {
    return await runBench({
      name: 'events-pipeline',
      unit: {
        events_per_s: 'events/s consumed and aggregated after the 5 % mark (higher is better)',
        start_ms: 'start() to the first event: group join, changelog topic, fencing, restore, ms (lower is better)',
        cpu_us_per_event: 'µs of this process CPU per event, start to close (lower is better)',
        peak_rss_mib: 'peak process RSS during the round, MiB (lower is better)',
      },
      subjects: {
        'backlot-window': () => windowPipeline(false),
        'backlot-checkpointed': () => windowPipeline(true),
        'kafkajs-consumer': rawKafkajs,
      },
      rounds: 5,
      warmup: 1,
      reference: 'backlot-window',
    });
  } finally {
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: created }).catch(() => {});
    await admin.disconnect();
  }
}
