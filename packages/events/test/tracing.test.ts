import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { AlwaysOffSampler } from '@opentelemetry/sdk-trace-base';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type ConsumedMessage,
  createEventProducer,
  createPipeline,
  EMIT_CHANNEL,
  type EmitMessage,
  embeddedLogTransport,
  PIPELINE_DEAD_LETTER_CHANNEL,
  type PipelineMetrics,
  PROCESS_CHANNEL,
  type ProcessMessage,
  type Transport,
  TransportSendError,
} from '../src/index.js';
import { events } from './fixtures/catalog.js';
import { collect, removeTempDirs, tempDir, until } from './helpers.js';
import { installEventsTracing } from './otel.js';

let tracing: ReturnType<typeof installEventsTracing> | undefined;
afterEach(async () => {
  await tracing?.stop();
  tracing = undefined;
  removeTempDirs();
});

const play = (seq: number) => ({ profileId: 'p1', titleId: 't1', country: 'FR', seq });
const named = (spans: ReadableSpan[], name: string) => spans.filter((span) => span.name === name);

/** Every record of `topic` on `transport` as a consumer of our transport receives it (headers included). */
async function consumeAll(transport: Transport, topic: string, count: number): Promise<ConsumedMessage[]> {
  const consumer = transport.consumer({ groupId: `read-${Math.random()}` });
  const seen: ConsumedMessage[] = [];
  await consumer.run({
    topics: [topic],
    fromBeginning: true,
    handler: async (batch) => {
      seen.push(...batch.messages);
    },
  });
  await until(() => seen.length >= count, `${count} records on ${topic}`, 10_000);
  await consumer.close();
  return seen;
}

/** A producer of the test catalogue to topic `plays` on `transport`, without a spool unless given one. */
const playProducer = (transport: Transport, spool: { dir: string } | false = false) =>
  createEventProducer({ catalog: events, source: 'play-api', transport, topic: 'plays', spool });

/** Runs a pipeline of group `groupId` over topic `plays` until `done(metrics)`, then closes it. */
async function runPipeline(
  transport: Transport,
  done: (metrics: PipelineMetrics) => boolean,
  what: string,
  groupId = 'trending',
): Promise<void> {
  const pipeline = createPipeline({ catalog: events, transport, groupId, topics: ['plays'] });
  pipeline.events().to(collect());
  await pipeline.start();
  await until(() => done(pipeline.metrics()), what);
  await pipeline.close();
}

/** A broker that is down: every send fails (a unit fake beside the real-broker tests). */
const downTransport: Transport = {
  name: 'down',
  producer: () => ({
    async connect() {},
    async send() {
      throw new Error('connect ECONNREFUSED (test: broker down)');
    },
    async close() {},
  }),
  consumer: () => {
    throw new Error('not used');
  },
};

describe('OpenTelemetry spans of emits and processed records (embedded log)', () => {
  it('emit() makes a producer span under the active span and writes its traceparent into the record; the pipeline continues that trace', async () => {
    tracing = installEventsTracing();
    const transport = embeddedLogTransport({ dir: tempDir() });
    const producer = playProducer(transport);
    let requestSpanId = '';
    trace.getTracer('test').startActiveSpan('play request', (request) => {
      requestSpanId = request.spanContext().spanId;
      producer.emit('play.started', play(1), { key: 'p1' });
      request.end();
    });
    await producer.close();
    const [emit] = named(tracing.spans(), 'emit plays');
    expect(emit?.kind).toBe(SpanKind.PRODUCER);
    expect(emit?.parentSpanContext?.spanId).toBe(requestSpanId);
    expect(emit?.attributes).toMatchObject({
      'messaging.system': 'kafka',
      'messaging.destination.name': 'plays',
      'messaging.operation.type': 'create',
      'messaging.kafka.message.key': 'p1',
      'backlot.event.name': 'play.started',
      'backlot.events.producer': 'play-api',
      'backlot.events.keeping_up': true,
    });
    const [record] = await consumeAll(transport, 'plays', 1);
    const { traceId, spanId } = emit?.spanContext() ?? {};
    expect(record?.headers?.traceparent).toBe(`00-${traceId}-${spanId}-01`);

    await runPipeline(transport, (metrics) => metrics.processed === 1, 'the event processed');
    const [processed] = named(tracing.spans(), 'process plays');
    expect(processed?.kind).toBe(SpanKind.CONSUMER);
    expect(processed?.spanContext().traceId).toBe(traceId);
    expect(processed?.parentSpanContext?.spanId).toBe(spanId);
    expect(processed?.attributes).toMatchObject({
      'messaging.system': 'kafka',
      'messaging.destination.name': 'plays',
      'messaging.consumer.group.name': 'trending',
      'messaging.operation.type': 'process',
      'backlot.event.name': 'play.started',
    });
    expect(named(tracing.spans(), 'receive plays')).toEqual([]);
  });

  it('a spooled event keeps its trace context: replayed after a restart, its processing continues the emit span', async () => {
    tracing = installEventsTracing();
    const spool = { dir: tempDir() };
    const down = playProducer(downTransport, spool);
    trace.getTracer('test').startActiveSpan('play request', (request) => {
      down.emit('play.started', play(1));
      request.end();
    });
    await down.close({ timeoutMs: 200 });
    expect(down.metrics()).toMatchObject({ sent: 0, spooled: 1 });
    const [emit] = named(tracing.spans(), 'emit plays');
    // The span ended once the send failed and the event was spilled to disk, not at emit().
    expect(emit?.attributes['backlot.events.outcome']).toBe('spooled');
    expect(emit?.events.map((event) => event.name)).toEqual(['spooled']);
    expect(emit?.status.code).toBe(SpanStatusCode.UNSET);

    // The next start, broker back: the spool is replayed with the record's headers.
    const transport = embeddedLogTransport({ dir: tempDir() });
    const up = playProducer(transport, spool);
    await up.flush();
    await up.close();
    expect(up.metrics()).toMatchObject({ sent: 1, replayed: 1 });

    await runPipeline(transport, (metrics) => metrics.processed === 1, 'the replayed event processed');
    const [processed] = named(tracing.spans(), 'process plays');
    expect(processed?.spanContext().traceId).toBe(emit?.spanContext().traceId);
    expect(processed?.parentSpanContext?.spanId).toBe(emit?.spanContext().spanId);
  });

  it('the emit span ends when the broker acknowledges the event, not when emit() returns', async () => {
    tracing = installEventsTracing();
    const log = embeddedLogTransport({ dir: tempDir() });
    let release: () => void = () => {};
    let sending = false;
    const acked = new Promise<void>((resolve) => {
      release = resolve;
    });
    // The real embedded log, whose acknowledgement the test holds back.
    const gated: Transport = {
      name: 'gated',
      producer: () => {
        const inner = log.producer();
        return {
          connect: () => inner.connect(),
          send: async (topic, messages) => {
            sending = true;
            await acked;
            return inner.send(topic, messages);
          },
          close: () => inner.close(),
        };
      },
      consumer: (options) => log.consumer(options),
    };
    const producer = playProducer(gated);
    producer.emit('play.started', play(1));
    await until(() => sending, 'the batch in flight');
    expect(named(tracing.spans(), 'emit plays')).toEqual([]);
    release();
    await producer.flush();
    const [emit] = named(tracing.spans(), 'emit plays');
    expect(emit?.attributes['backlot.events.outcome']).toBe('acked');
    expect(emit?.events.map((event) => event.name)).toEqual(['acked']);
    expect(emit?.status.code).toBe(SpanStatusCode.UNSET);
    await producer.close();
    expect(named(tracing.spans(), 'emit plays')).toHaveLength(1); // ended once
  });

  it('an event admitted straight to the spool: its span ends once the group commit has it on disk', async () => {
    const sdk = installEventsTracing();
    tracing = sdk;
    const dir = tempDir();
    // A memory buffer smaller than one event: every event goes to the spool.
    const producer = createEventProducer({
      catalog: events,
      source: 'play-api',
      transport: downTransport,
      topic: 'plays',
      spool: { dir },
      bufferBytes: 1,
    });
    producer.emit('play.started', play(1));
    expect(producer.metrics().spooled).toBe(1);
    expect(named(sdk.spans(), 'emit plays')).toEqual([]);
    await until(() => named(sdk.spans(), 'emit plays').length === 1, 'the emit span ended');
    const [emit] = named(sdk.spans(), 'emit plays');
    expect(emit?.attributes['backlot.events.outcome']).toBe('spooled');
    expect(emit?.attributes['backlot.events.keeping_up']).toBe(false);
    expect(emit?.events.map((event) => event.name)).toEqual(['spool_queued', 'spooled']);
    await producer.close({ timeoutMs: 200 });
  });

  it("a poison event: its emit span ends as dead-lettered, an error with the broker's code", async () => {
    tracing = installEventsTracing();
    const refusing: Transport = {
      name: 'refusing',
      producer: () => ({
        async connect() {},
        async send(_topic, messages) {
          const rejected = messages.map((message) => ({
            message,
            code: 'MESSAGE_TOO_LARGE',
            reason: 'test: too large',
          }));
          throw new TransportSendError('refused', [], rejected);
        },
        async close() {},
      }),
      consumer: () => {
        throw new Error('not used');
      },
    };
    const letters: unknown[] = [];
    const producer = createEventProducer({
      catalog: events,
      source: 'play-api',
      transport: refusing,
      topic: 'plays',
      spool: false,
      onDeadLetter: (dead) => letters.push(...dead),
    });
    producer.emit('play.started', play(1));
    await producer.flush();
    await producer.close();
    expect(letters).toHaveLength(1);
    const [emit] = named(tracing.spans(), 'emit plays');
    expect(emit?.attributes['backlot.events.outcome']).toBe('dead_lettered');
    expect(emit?.attributes['error.type']).toBe('MESSAGE_TOO_LARGE');
    expect(emit?.status.code).toBe(SpanStatusCode.ERROR);
    expect(emit?.events.map((event) => event.name)).toEqual(['dead_lettered', 'exception']);
  });

  it('sampling off: no span, and the unsampled trace context still travels in the record (flags 00)', async () => {
    const sampledOut = installEventsTracing(new AlwaysOffSampler());
    tracing = sampledOut;
    const transport = embeddedLogTransport({ dir: tempDir() });
    const producer = playProducer(transport);
    producer.emit('play.started', play(1));
    let requestTrace = '';
    trace.getTracer('test').startActiveSpan('dropped request', (request) => {
      requestTrace = request.spanContext().traceId;
      producer.emit('play.started', play(2));
      request.end();
    });
    await producer.close();
    expect(sampledOut.spans()).toEqual([]);
    const records = await consumeAll(transport, 'plays', 2);
    const parents = records.map((record) =>
      /^00-([0-9a-f]{32})-[0-9a-f]{16}-00$/.exec(record.headers?.traceparent ?? ''),
    );
    expect(parents.every((match) => match !== null)).toBe(true);
    expect(parents.map((match) => match?.[1])).toContain(requestTrace);
  });

  it('a batch mixing traces gets a receive span linking each producer span; each record still continues its own trace', async () => {
    tracing = installEventsTracing();
    const transport = embeddedLogTransport({ dir: tempDir(), partitions: 1 });
    const producer = playProducer(transport);
    const tracer = trace.getTracer('test');
    for (const seq of [1, 2]) {
      tracer.startActiveSpan(`request ${seq}`, (request) => {
        producer.emit('play.started', play(seq));
        request.end();
      });
    }
    await producer.close();
    // A record from a producer that writes no trace context.
    const raw = transport.producer();
    const untraced = events.encode(events.envelope('play.started', play(3), { source: 'legacy' }));
    await raw.send('plays', [{ key: null, value: untraced, timestamp: Date.now() }]);
    await raw.close();
    const emits = named(tracing.spans(), 'emit plays');
    expect(emits).toHaveLength(2);

    await runPipeline(transport, (metrics) => metrics.processed === 3, 'three events processed');
    const [receive] = named(tracing.spans(), 'receive plays');
    expect(receive?.kind).toBe(SpanKind.CONSUMER);
    expect(receive?.attributes['messaging.batch.message_count']).toBe(3);
    expect(receive?.links.map((link) => link.context.spanId).sort()).toEqual(
      emits.map((span) => span.spanContext().spanId).sort(),
    );
    const processed = named(tracing.spans(), 'process plays');
    expect(processed).toHaveLength(3);
    for (const emit of emits) {
      const child = processed.find((span) => span.parentSpanContext?.spanId === emit.spanContext().spanId);
      expect(child?.spanContext().traceId).toBe(emit.spanContext().traceId);
    }
    // The record without a context of its own is processed under the batch span.
    expect(processed.filter((span) => span.parentSpanContext?.spanId === receive?.spanContext().spanId)).toHaveLength(
      1,
    );
  });

  it('an undecodable record: its span is an error naming the stage, and its dead letter keeps the trace context', async () => {
    tracing = installEventsTracing();
    const transport = embeddedLogTransport({ dir: tempDir() });
    const raw = transport.producer();
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    await raw.send('plays', [
      { key: null, value: Buffer.from('{not json'), timestamp: Date.now(), headers: { traceparent } },
    ]);
    await raw.close();
    await runPipeline(transport, (metrics) => metrics.deadLettered === 1, 'the poison record dead-lettered');
    const [processed] = named(tracing.spans(), 'process plays');
    expect(processed?.spanContext().traceId).toBe('0af7651916cd43dd8448eb211c80319c');
    expect(processed?.parentSpanContext?.spanId).toBe('b7ad6b7169203331');
    expect(processed?.status.code).toBe(SpanStatusCode.ERROR);
    expect(processed?.attributes['backlot.events.dead_letter_stage']).toBe('decode');
    const [letter] = await consumeAll(transport, 'plays.dead-letter', 1);
    expect(letter?.headers?.traceparent).toBe(traceparent);
  });

  it('without an OpenTelemetry SDK: no span, no header written', async () => {
    const transport = embeddedLogTransport({ dir: tempDir() });
    const producer = playProducer(transport);
    trace.getTracer('test').startActiveSpan('no sdk', (span) => {
      producer.emit('play.started', play(1));
      span.end();
    });
    await producer.close();
    const [record] = await consumeAll(transport, 'plays', 1);
    expect(record?.headers).toBeUndefined();
  });
});

describe('diagnostics channels of @backlot/events', () => {
  it('publishes each emit, each processed record and each pipeline dead letter', async () => {
    const seen: string[] = [];
    const onEmit = (message: unknown) => {
      const { producer, event, topic, key } = message as EmitMessage;
      seen.push(`emit ${producer} ${event} ${topic} ${key}`);
    };
    const onProcess = (message: unknown) => {
      const { pipeline, topic, partition, offset } = message as ProcessMessage;
      seen.push(`process ${pipeline} ${topic} ${partition} ${offset === undefined ? '' : 'offset'}`);
    };
    const onDeadLetter = (message: unknown) => seen.push(`dead-letter ${(message as { stage: string }).stage}`);
    subscribe(`tracing:${EMIT_CHANNEL}:start`, onEmit);
    subscribe(`tracing:${PROCESS_CHANNEL}:start`, onProcess);
    subscribe(PIPELINE_DEAD_LETTER_CHANNEL, onDeadLetter);
    try {
      const transport = embeddedLogTransport({ dir: tempDir(), partitions: 1 });
      const producer = playProducer(transport);
      producer.emit('play.started', play(1), { key: 'p1' });
      await producer.close();
      const raw = transport.producer();
      await raw.send('plays', [{ key: null, value: Buffer.from('garbage'), timestamp: Date.now() }]);
      await raw.close();
      await runPipeline(transport, (metrics) => metrics.consumed === 2, 'both records consumed', 'g');
      expect(seen).toEqual([
        'emit play-api play.started plays p1',
        'process g plays 0 offset',
        'process g plays 0 offset',
        'dead-letter decode',
      ]);
    } finally {
      unsubscribe(`tracing:${EMIT_CHANNEL}:start`, onEmit);
      unsubscribe(`tracing:${PROCESS_CHANNEL}:start`, onProcess);
      unsubscribe(PIPELINE_DEAD_LETTER_CHANNEL, onDeadLetter);
    }
  });
});
