import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { SpanKind, trace } from '@opentelemetry/api';
import type { Admin } from 'kafkajs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { serviceEnv } from '../../../scripts/test-env.js';
import { createEventProducer, createPipeline, kafkaTransport, type Transport } from '../src/index.js';
import { platformaticKafkaTransport } from '../src/platformatic.js';
import { events } from './fixtures/catalog.js';
import { collect, connectAdmin, removeTempDirs, tempDir, until } from './helpers.js';
import { installEventsTracing } from './otel.js';

// Trace context through the real Kafka broker started by scripts/services.sh.
const { kafkaBrokers } = serviceEnv();
const created: string[] = [];
let admin: Admin;
let tracing: ReturnType<typeof installEventsTracing> | undefined;

beforeAll(async () => {
  admin = await connectAdmin(kafkaBrokers);
});
afterEach(async () => {
  await tracing?.stop();
  tracing = undefined;
});
afterAll(async () => {
  await admin?.deleteTopics({ topics: created }).catch(() => {});
  await admin?.disconnect();
  removeTempDirs();
});

/** The `traceparent` header of every record of `topic`, as kcat (a client that is not ours) reads it. */
function traceparentsOnTheBroker(topic: string): string[] {
  const out = execFileSync(
    'kcat',
    ['-C', '-b', kafkaBrokers[0] as string, '-t', topic, '-o', 'beginning', '-e', '-q', '-f', '%h\n'],
    { encoding: 'utf8' },
  );
  return out
    .trim()
    .split('\n')
    .map((headers) => /(?:^|,)traceparent=([^,]*)/.exec(headers)?.[1] ?? '');
}

const transports: [string, () => Transport][] = [
  ['kafkajs', () => kafkaTransport({ brokers: kafkaBrokers, maxWaitTimeMs: 100 })],
  ['@platformatic/kafka', () => platformaticKafkaTransport({ brokers: kafkaBrokers, maxWaitTimeMs: 100 })],
];

describe.each(transports)('trace context through a real Kafka broker (%s)', (_name, makeTransport) => {
  it('the consumer span of each record has the producer span as parent, across the broker', async () => {
    const topic = `backlot-tracing-${randomUUID()}`;
    created.push(topic, `${topic}.dead-letter`);
    await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true });
    tracing = installEventsTracing();
    const transport = makeTransport();
    const producer = createEventProducer({
      catalog: events,
      source: 'play-api',
      transport,
      topic,
      spool: { dir: tempDir() },
    });
    const tracer = trace.getTracer('test');
    const N = 6;
    for (let seq = 0; seq < N; seq++) {
      tracer.startActiveSpan(`play request ${seq}`, (request) => {
        producer.emit('play.started', { profileId: `p${seq % 3}`, titleId: 't1', country: 'FR', seq });
        request.end();
      });
    }
    await producer.close();
    expect(producer.metrics()).toMatchObject({ sent: N, dropped: 0 });
    const emits = tracing.spans().filter((span) => span.name === `emit ${topic}`);
    expect(emits).toHaveLength(N);
    // Each emit span lasted until the broker's acknowledgement.
    for (const emit of emits) expect(emit.attributes['backlot.events.outcome']).toBe('acked');
    // Counted from outside: the broker holds each record with its emit span's traceparent.
    expect(traceparentsOnTheBroker(topic).sort()).toEqual(
      emits.map((span) => `00-${span.spanContext().traceId}-${span.spanContext().spanId}-01`).sort(),
    );

    const pipeline = createPipeline({ catalog: events, transport, groupId: `g-${randomUUID()}`, topics: [topic] });
    pipeline.events().to(collect());
    await pipeline.start();
    await until(() => pipeline.metrics().processed === N, `${N} events processed`);
    await pipeline.close();
    const processed = tracing.spans().filter((span) => span.name === `process ${topic}`);
    expect(processed).toHaveLength(N);
    for (const emit of emits) {
      const children = processed.filter((span) => span.parentSpanContext?.spanId === emit.spanContext().spanId);
      expect(children).toHaveLength(1);
      expect(children[0]?.kind).toBe(SpanKind.CONSUMER);
      expect(children[0]?.spanContext().traceId).toBe(emit.spanContext().traceId);
      expect(children[0]?.parentSpanContext?.isRemote).toBe(true);
    }
  });
});
