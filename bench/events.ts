/**
 * `npm run bench -- events`: the Backlot emitter vs raw kafkajs on the real
 * Kafka broker, side by side in one run (see bench/lib/harness.ts).
 *
 * - backlot: `createEventProducer` (zod validation of every payload, envelope,
 *   batching by size and linger, kafkajs transport: idempotent producers, acks
 *   all, gzip, each batch split by partition over its connections),
 *   emitting as fast as `emit()`/`ready()` backpressure allows, then `flush()`.
 * - kafkajs: raw `producer.send` with the same guarantees (idempotent, one
 *   request in flight as kafkajs requires for idempotence, acks all, gzip) and
 *   the best batching it offers: the caller builds 1 MiB batches and sends them
 *   back to back (no validation, no envelope).
 * - backlot-zstd, kafkajs-zstd: the same two with zstd instead of gzip (Node's
 *   own zstd, which `kafkaTransport` registers in kafkajs's codec table).
 * - backlot-platformatic: the Backlot emitter on `platformaticKafkaTransport`
 *   (`@backlot/events/platformatic`), same options.
 * - platformatic: raw `@platformatic/kafka` `producer.send` with the same
 *   guarantees (idempotent, acks all, gzip) and the same caller-built 1 MiB batches.
 * - backlot-otel-off, backlot-otel: the `backlot` subject with an OpenTelemetry
 *   SDK registered for the round (W3C propagator, AsyncLocalStorage context
 *   manager): sampling off (`AlwaysOffSampler`: no span recorded, the unsampled
 *   `traceparent` still written into each record), and every emit sampled (a
 *   span per emit and its `traceparent` header; spans batched to an exporter
 *   that discards them). `backlot` itself runs without an SDK: the no-op tracer.
 * - backlot-registry: the `backlot` subject in registry mode (`registry: { client, schemas }`):
 *   each record framed in the Confluent wire format when sent (schema id from Apicurio,
 *   registered once and cached, payload as the value, envelope in headers). Left out with
 *   BACKLOT_REGISTRY=off.
 *   `kafkajs-otel-off` is the raw kafkajs subject under the same SDK (sampling
 *   off): backlot-otel-off / kafkajs-otel-off against backlot / kafkajs tells
 *   what the SDK costs any process from what Backlot's spans cost on top.
 * - backlot-spool: the same events written to the disk spool (write-through,
 *   broker unreachable), then replayed to the broker by a new producer.
 * - backlot-pipeline vs kafkajs-consumer: consuming a topic of the same events
 *   (gzip, produced once per run): a Backlot pipeline (decodes and validates
 *   each event into a counting sink) vs a raw kafkajs consumer (`eachBatch`,
 *   `JSON.parse` of each value).
 *
 * Figures: events_per_s (emit of the first event to the last acknowledgement),
 * p99_ack_ms (emit-to-ack latency), p99_emit_us (one emit() call),
 * p99_loop_block_ms (event-loop delay: blocking seen by a handler beside the emitter), peak_rss_mib (process RSS sampled during the
 * round), replay_events_per_s (spool only).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import {
  createEventProducer,
  createPipeline,
  defineEventCatalog,
  type EventDefinitions,
  kafkaTransport,
  type ProducerRegistryOptions,
  schemaRegistry,
  type Transport,
} from '@backlot/events';
import { platformaticKafkaTransport } from '@backlot/events/platformatic';
import { ProduceAcks, Producer } from '@platformatic/kafka';
import { CompressionTypes, Kafka, logLevel } from 'kafkajs';
import { z } from 'zod';
import { serviceEnv } from '../scripts/test-env.ts';
import { type Figures, runBench } from './lib/harness.ts';
import { withOpenTelemetry } from './lib/otel.ts';

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';
const gc = (globalThis as { gc?: () => void }).gc;
const EVENTS = Number(process.env.BENCH_EVENTS ?? 200_000);
const BATCH_BYTES = 1024 * 1024;
const { kafkaBrokers, registryUrl } = serviceEnv();

const definitions = {
  'play.started': {
    version: 1,
    payload: z.object({
      profileId: z.string().min(1),
      titleId: z.string().min(1),
      country: z.string().length(2),
      positionMs: z.number().int().min(0),
      device: z.string(),
      blob: z.string(),
    }),
  },
} satisfies EventDefinitions;
const catalog = defineEventCatalog(definitions);

// ~1 KiB per encoded event, incompressible enough that gzip does real work.
const blobs = Array.from({ length: 1024 }, () => randomBytes(560).toString('base64').slice(0, 740));
const payloadOf = (i: number) => ({
  profileId: `profile-${i % 5000}`,
  titleId: `title-${i % 977}`,
  country: i % 2 ? 'FR' : 'BR',
  positionMs: i,
  device: 'tv',
  blob: blobs[i % blobs.length] as string,
});

const kafka = new Kafka({ clientId: 'bench-events', brokers: kafkaBrokers, logLevel: logLevel.NOTHING });
let topicCount = 0;
async function freshTopic(): Promise<string> {
  const topic = `bench-events-${process.pid}-${topicCount++}`;
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
  await admin.disconnect();
  return topic;
}
async function dropTopic(topic: string): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  await admin.deleteTopics({ topics: [topic] }).catch(() => {});
  await admin.disconnect();
}

function rssSampler(): () => number {
  gc?.();
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 20);
  return () => {
    clearInterval(timer);
    return Math.max(peak, process.memoryUsage().rss) / 1024 / 1024;
  };
}

/** This process's CPU time (all threads: main, libuv pool for gzip) per event, in µs, since `start`. */
function cpuPerEvent(start: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(start);
  return (used.user + used.system) / EVENTS;
}

function percentile(values: number[], p: number): number {
  const sorted = values.sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
}

async function backlot(): Promise<Figures> {
  return backlotOn(kafkaTransport({ brokers: kafkaBrokers }), 'backlot');
}

async function backlotZstd(): Promise<Figures> {
  return backlotOn(kafkaTransport({ brokers: kafkaBrokers, compression: 'zstd' }), 'backlot-zstd');
}

async function backlotRegistry(): Promise<Figures> {
  const registry: ProducerRegistryOptions = { client: schemaRegistry({ url: registryUrl }), schemas: definitions };
  return backlotOn(kafkaTransport({ brokers: kafkaBrokers }), 'backlot-registry', registry);
}

async function backlotPlatformatic(): Promise<Figures> {
  return backlotOn(platformaticKafkaTransport({ brokers: kafkaBrokers }), 'backlot-platformatic');
}

/**
 * Event-loop blocking during a round: starts sampling; the returned function stops and gives
 * the p99 of how late the loop ran a 1 ms timer, in ms (what a request handler beside the
 * emitter waits for).
 */
function loopBlocking(): () => number {
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  histogram.enable();
  return () => {
    histogram.disable();
    return histogram.percentile(99) / 1e6;
  };
}

/** Every 16th call's duration, in µs, for a p99 of `emit()` itself (sampled to keep the timer out of the figure). */
function emitTimer() {
  const samples: number[] = [];
  return {
    samples,
    p99: () => percentile(samples, 99),
  };
}

async function backlotOn(transport: Transport, name: string, registry?: ProducerRegistryOptions): Promise<Figures> {
  const topic = await freshTopic();
  const spoolDir = mkdtempSync(join(tmpdir(), 'bench-spool-'));
  const peak = rssSampler();
  const producer = createEventProducer({
    catalog,
    source: 'bench',
    transport,
    topic,
    key: (e) => e.payload.profileId,
    spool: { dir: spoolDir },
    batch: { maxBytes: BATCH_BYTES },
    // Backpressure at 2 MiB queued: enough to keep a batch in flight and the next one filling.
    bufferBytes: 4 * 1024 * 1024,
    ...(registry ? { registry } : {}),
  });
  const cpu = process.cpuUsage();
  const blocking = loopBlocking();
  const emits = emitTimer();
  const start = performance.now();
  for (let i = 0; i < EVENTS; i++) {
    let keepingUp: boolean;
    if ((i & 15) === 0) {
      const before = performance.now();
      keepingUp = producer.emit('play.started', payloadOf(i));
      emits.samples.push((performance.now() - before) * 1000);
    } else {
      keepingUp = producer.emit('play.started', payloadOf(i));
    }
    if (!keepingUp) await producer.ready();
  }
  await producer.flush();
  const seconds = (performance.now() - start) / 1000;
  const cpuUs = cpuPerEvent(cpu);
  const loopP99 = blocking();
  const metrics = producer.metrics();
  await producer.close();
  const rss = peak();
  rmSync(spoolDir, { recursive: true, force: true });
  await dropTopic(topic);
  if (metrics.sent !== EVENTS || metrics.dropped !== 0) throw new Error(`${name}: sent ${metrics.sent}/${EVENTS}`);
  return {
    events_per_s: EVENTS / seconds,
    p99_ack_ms: metrics.ackLatencyMs.p99,
    p99_emit_us: emits.p99(),
    p99_loop_block_ms: loopP99,
    peak_rss_mib: rss,
    cpu_us_per_event: cpuUs,
  };
}

// The zstd codec `kafkaTransport` registers in kafkajs (node:zlib zstd), so `kafkajs-zstd` can use it too.
kafkaTransport({ brokers: kafkaBrokers });

const rawKafkajs = () => rawKafkajsWith(CompressionTypes.GZIP);

/**
 * A raw client's best case: the caller builds 1 MiB batches of `{ name, payload }`
 * (no validation, no envelope) and sends them back to back with `send`; each
 * event's latency runs from when its batch was being built to the batch's ack.
 */
async function rawSubject(
  send: (batch: { key: string; value: string }[]) => Promise<void>,
): Promise<Omit<Figures, 'peak_rss_mib'>> {
  const latencies: number[] = [];
  const cpu = process.cpuUsage();
  const blocking = loopBlocking();
  const emits = emitTimer();
  const start = performance.now();
  let i = 0;
  while (i < EVENTS) {
    const messages: { key: string; value: string }[] = [];
    const created: number[] = [];
    let bytes = 0;
    while (i < EVENTS && bytes < BATCH_BYTES) {
      // The raw caller's "emit": building and queueing one message.
      const sampled = (i & 15) === 0;
      const before = sampled ? performance.now() : 0;
      const payload = payloadOf(i++);
      const value = JSON.stringify({ name: 'play.started', payload });
      messages.push({ key: payload.profileId, value });
      created.push(performance.now());
      if (sampled) emits.samples.push((performance.now() - before) * 1000);
      bytes += value.length;
    }
    await send(messages);
    const acked = performance.now();
    for (const t of created) latencies.push(acked - t);
  }
  const seconds = (performance.now() - start) / 1000;
  return {
    events_per_s: EVENTS / seconds,
    p99_ack_ms: percentile(latencies, 99),
    p99_emit_us: emits.p99(),
    p99_loop_block_ms: blocking(),
    cpu_us_per_event: cpuPerEvent(cpu),
  };
}

async function rawKafkajsWith(compression: CompressionTypes): Promise<Figures> {
  const topic = await freshTopic();
  const peak = rssSampler();
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const figures = await rawSubject(async (messages) => {
    await producer.send({ topic, acks: -1, compression, messages });
  });
  await producer.disconnect();
  const rss = peak();
  await dropTopic(topic);
  return { ...figures, peak_rss_mib: rss };
}

async function rawPlatformatic(): Promise<Figures> {
  const topic = await freshTopic();
  const peak = rssSampler();
  const producer = new Producer({
    clientId: 'bench-events',
    bootstrapBrokers: kafkaBrokers,
    idempotent: true,
    acks: ProduceAcks.ALL,
    compression: 'gzip',
  });
  const figures = await rawSubject(async (messages) => {
    await producer.send({
      messages: messages.map((m) => ({ topic, key: Buffer.from(m.key), value: Buffer.from(m.value) })),
    });
  });
  await producer.close();
  const rss = peak();
  await dropTopic(topic);
  return { ...figures, peak_rss_mib: rss };
}

/** A transport whose broker is down: every send fails, so events stay in the spool. */
const unreachable: Transport = {
  name: 'unreachable',
  producer: () => ({
    connect: async () => {},
    send: async () => {
      throw new Error('broker unreachable (bench)');
    },
    close: async () => {},
  }),
  consumer: () => {
    throw new Error('not used');
  },
};

async function backlotSpool(): Promise<Figures> {
  const topic = await freshTopic();
  const dir = mkdtempSync(join(tmpdir(), 'bench-spool-'));
  const peak = rssSampler();
  const writer = createEventProducer({
    catalog,
    source: 'bench',
    transport: unreachable,
    topic,
    key: (e) => e.payload.profileId,
    spool: { dir, mode: 'write-through', maxBytes: 4 * 1024 ** 3 },
    retry: { initialDelayMs: 60_000, maxDelayMs: 60_000 },
  });
  let start = performance.now();
  for (let i = 0; i < EVENTS; i++) writer.emit('play.started', payloadOf(i));
  const written = EVENTS / ((performance.now() - start) / 1000);
  const spooled = writer.metrics().spoolPending;
  await writer.close({ timeoutMs: 0 });

  start = performance.now();
  const replayer = createEventProducer({
    catalog,
    source: 'bench',
    transport: kafkaTransport({ brokers: kafkaBrokers }),
    topic,
    spool: { dir },
    batch: { maxBytes: BATCH_BYTES },
  });
  await replayer.flush();
  const replayed = EVENTS / ((performance.now() - start) / 1000);
  const metrics = replayer.metrics();
  await replayer.close();
  const rss = peak();
  rmSync(dir, { recursive: true, force: true });
  await dropTopic(topic);
  if (spooled !== EVENTS || metrics.replayed !== EVENTS) {
    throw new Error(`backlot-spool: spooled ${spooled}, replayed ${metrics.replayed} of ${EVENTS}`);
  }
  return { events_per_s: written, replay_events_per_s: replayed, peak_rss_mib: rss };
}

// ───────────── consuming: a Backlot pipeline vs a raw kafkajs consumer ─────────────

/** One topic of EVENTS gzip events for the consumer subjects, produced once per run. */
let consumeTopic: Promise<string> | undefined;
function topicToConsume(): Promise<string> {
  consumeTopic ??= (async () => {
    const topic = await freshTopic();
    const producer = createEventProducer({
      catalog,
      source: 'bench',
      transport: kafkaTransport({ brokers: kafkaBrokers }),
      topic,
      key: (e) => e.payload.profileId,
      spool: false,
      batch: { maxBytes: BATCH_BYTES },
    });
    for (let i = 0; i < EVENTS; i++) {
      if (!producer.emit('play.started', payloadOf(i))) await producer.ready();
    }
    await producer.close();
    return topic;
  })();
  return consumeTopic;
}

async function backlotPipeline(): Promise<Figures> {
  const topic = await topicToConsume();
  const peak = rssSampler();
  const pipeline = createPipeline({
    catalog,
    transport: kafkaTransport({ brokers: kafkaBrokers, maxWaitTimeMs: 100 }),
    groupId: `bench-${randomUUID()}`,
    topics: [topic],
    deadLetterTopic: false,
  });
  let counted = 0;
  pipeline.events().to({
    name: 'count',
    write: () => {
      counted++;
    },
    flush: async () => {},
  });
  const cpu = process.cpuUsage();
  const start = performance.now();
  await pipeline.start();
  while (counted < EVENTS) await new Promise((resolve) => setTimeout(resolve, 5));
  const seconds = (performance.now() - start) / 1000;
  const cpuUs = cpuPerEvent(cpu);
  await pipeline.close();
  return { consume_events_per_s: EVENTS / seconds, peak_rss_mib: peak(), cpu_us_per_event: cpuUs };
}

async function rawKafkajsConsumer(): Promise<Figures> {
  const topic = await topicToConsume();
  const peak = rssSampler();
  const consumer = kafka.consumer({ groupId: `bench-${randomUUID()}`, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  let counted = 0;
  const cpu = process.cpuUsage();
  const start = performance.now();
  await consumer.run({
    eachBatch: async ({ batch }) => {
      for (const message of batch.messages) {
        if (message.value) JSON.parse(message.value.toString());
        counted++;
      }
    },
  });
  while (counted < EVENTS) await new Promise((resolve) => setTimeout(resolve, 5));
  const seconds = (performance.now() - start) / 1000;
  const cpuUs = cpuPerEvent(cpu);
  await consumer.disconnect();
  return { consume_events_per_s: EVENTS / seconds, peak_rss_mib: peak(), cpu_us_per_event: cpuUs };
}

export default async function run() {
  console.log(`events: ${EVENTS} events of ~1 KiB per subject and round, broker ${kafkaBrokers.join(',')}.`);
  const result = await runBench({
    name: 'events',
    unit: {
      events_per_s: 'events/s acknowledged by the broker (spool: written to disk) (higher is better)',
      p99_ack_ms: 'p99 emit-to-ack latency, ms (lower is better)',
      p99_emit_us:
        'p99 duration of one emit() call (raw clients: building and queueing one message), µs, every 16th call timed (lower is better)',
      p99_loop_block_ms:
        'p99 event-loop delay during the round (how long a request handler beside the emitter would wait), ms (lower is better)',
      peak_rss_mib: 'peak process RSS during the round, MiB (lower is better)',
      replay_events_per_s: 'events/s replayed from the spool to the broker (higher is better)',
      cpu_us_per_event: 'µs of this process CPU (all threads) per event sent, or consumed (lower is better)',
      consume_events_per_s:
        'events/s consumed from a topic of gzip events: a pipeline decoding and validating each, or a raw kafkajs consumer parsing each (higher is better)',
    },
    subjects: {
      backlot,
      kafkajs: rawKafkajs,
      'backlot-zstd': backlotZstd,
      'kafkajs-zstd': () => rawKafkajsWith(CompressionTypes.ZSTD),
      'backlot-platformatic': backlotPlatformatic,
      platformatic: rawPlatformatic,
      'backlot-otel-off': withOpenTelemetry(false, backlot),
      'kafkajs-otel-off': withOpenTelemetry(false, rawKafkajs),
      'backlot-otel': withOpenTelemetry(true, backlot),
      ...(process.env.BACKLOT_REGISTRY === 'off' ? {} : { 'backlot-registry': backlotRegistry }),
      'backlot-spool': backlotSpool,
      'backlot-pipeline': backlotPipeline,
      'kafkajs-consumer': rawKafkajsConsumer,
    },
    rounds: 3,
    warmup: 1,
    reference: 'kafkajs',
  });
  if (consumeTopic) await dropTopic(await consumeTopic);
  return result;
}
