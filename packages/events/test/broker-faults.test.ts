import { setTimeout as sleep } from 'node:timers/promises';
import { type Admin, Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startOnFreePorts } from '../../../scripts/test-ports.js';
import { createEventProducer, kafkaTransport, type Transport } from '../src/index.js';
import { platformaticKafkaTransport } from '../src/platformatic.js';
import { fixKafkajsRequestQueue } from '../src/transport/kafka/request-queue-fix.js';
import { type FaultProxy, type PrivateBroker, startFaultProxy, startPrivateBroker } from './fault-proxy.js';
import { byProfile, events as testEvents } from './fixtures/catalog.js';
import { readTopicAsync, removeTempDirs, tempDir, until } from './helpers.js';

// A private broker whose advertised listener is a TCP proxy the test owns: every client
// connection (bootstrap, then the partition leader's) goes through it, so the test can make
// the broker hang, answer slowly, lose its answers or drop connections, while the shared broker
// is never touched. Ids are counted from outside, with kcat.
// Free ports (proxy, broker, controller), picked when the suite starts.
const brokers: string[] = [];

let proxy: FaultProxy;
let broker: PrivateBroker;
let admin: Admin;

beforeAll(async () => {
  ({ proxy, broker } = await startOnFreePorts(3, async ([proxyPort = 0, brokerPort = 0, controllerPort = 0]) => {
    const started = await startFaultProxy(proxyPort, brokerPort);
    try {
      return { proxy: started, broker: await startPrivateBroker(tempDir(), brokerPort, proxyPort, controllerPort) };
    } catch (error) {
      await started.close();
      throw error;
    }
  }));
  brokers.push(`127.0.0.1:${proxy.port}`);
  fixKafkajsRequestQueue();
  admin = new Kafka({ clientId: 'broker-faults-test', brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
}, 180_000);

afterAll(async () => {
  await admin?.disconnect().catch(() => {});
  await proxy?.close();
  await broker?.stop();
  removeTempDirs();
}, 60_000);

const transports: [string, () => Transport][] = [
  ['kafkajs', () => kafkaTransport({ brokers, connectionTimeoutMs: 1000, requestTimeoutMs: 1000 })],
  [
    'platformatic',
    () => platformaticKafkaTransport({ brokers, connectionTimeoutMs: 1000, requestTimeoutMs: 1000, sendRetries: 1 }),
  ],
];

let topics = 0;
async function freshTopic(name: string): Promise<string> {
  const topic = `${name}-${++topics}`;
  // The first admin requests after the broker's start may find it not ready yet: try again.
  await until(
    () =>
      admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true }).then(
        () => true,
        () => false,
      ),
    `topic ${topic} to be created`,
  );
  return topic;
}

function producerOn(transport: Transport, topic: string, spoolDir = tempDir()) {
  return createEventProducer({
    catalog: testEvents,
    source: 'broker-faults',
    transport,
    topic,
    key: byProfile,
    spool: { dir: spoolDir },
    batch: { maxEvents: 100 },
    retry: { initialDelayMs: 50, maxDelayMs: 300 },
    closeTimeoutMs: 5000,
  });
}

/** Emits events `seq` from..to-1, a few at a time, yielding between them. */
async function emitRange(producer: ReturnType<typeof producerOn>, from: number, to: number) {
  for (let seq = from; seq < to; seq++) {
    producer.emit('play.started', { profileId: `p${seq % 7}`, titleId: 't', country: 'FR', seq });
    if (seq % 25 === 0) await sleep(1);
  }
}

/** How many times each `seq` is in `topic`, read by kcat. */
async function countSeqs(topic: string): Promise<Map<number, number>> {
  const counts = new Map<number, number>();
  for (const message of await readTopicAsync(brokers, topic)) {
    const { seq } = testEvents.decode(message.value).payload as { seq: number };
    counts.set(seq, (counts.get(seq) ?? 0) + 1);
  }
  return counts;
}

/** Every seq in [0, n) exactly once. */
function expectExactlyOnce(counts: Map<number, number>, n: number) {
  const missing = [...Array(n).keys()].filter((seq) => !counts.has(seq));
  const twice = [...counts].filter(([, count]) => count > 1).map(([seq]) => seq);
  expect({ missing, twice, distinct: counts.size }).toEqual({ missing: [], twice: [], distinct: n });
}

describe.each(transports)('a broker behind a fault proxy (%s)', (_name, transport) => {
  beforeEach(() => {
    proxy.mode('pass');
    proxy.latency(0);
  });

  it('writes each event once when the broker wrote a batch but its answer was lost', async () => {
    proxy.mode('pass');
    const topic = await freshTopic('lost-answer');
    const producer = producerOn(transport(), topic);
    await emitRange(producer, 0, 300);
    await producer.flush({ timeoutMs: 60_000 });
    // The broker writes what it receives, the client never hears so: its requests time out.
    const dropped = proxy.droppedResponses;
    proxy.mode('drop-produce-responses');
    await emitRange(producer, 300, 600);
    await until(() => producer.metrics().degraded, 'the producer to see the failure');
    await until(() => proxy.droppedResponses > dropped + 2, 'answers to be lost');
    proxy.mode('pass');
    await emitRange(producer, 600, 700);
    await producer.flush({ timeoutMs: 60_000 });
    const metrics = producer.metrics();
    await producer.close();
    expect(metrics).toMatchObject({ emitted: 700, dropped: 0, spoolPending: 0 });
    expect(metrics.failedBatches).toBeGreaterThan(0);
    expectExactlyOnce(await countSeqs(topic), 700);
  }, 120_000);

  it('a broker that takes connections and never answers: degraded, emit() still accepts, close() spools, nothing lost', async () => {
    const topic = await freshTopic('stall');
    const spoolDir = tempDir();
    const first = producerOn(transport(), topic, spoolDir);
    await emitRange(first, 0, 200);
    await first.flush({ timeoutMs: 60_000 });
    // Open connections fall silent; new ones are accepted and never answered.
    proxy.mode('stall');
    await emitRange(first, 200, 500);
    await until(() => first.metrics().degraded, 'the producer to see the broker hang');
    await emitRange(first, 500, 800);
    expect(first.metrics()).toMatchObject({ emitted: 800, invalid: 0, dropped: 0 });
    // close() returns while the broker still hangs, with what is left in the spool.
    await first.close();
    const closed = first.metrics();
    expect(closed.spoolPending).toBe(800 - closed.sent);
    expect(closed.spoolPending).toBeGreaterThan(0);
    proxy.mode('pass');
    const second = producerOn(transport(), topic, spoolDir);
    await second.flush({ timeoutMs: 60_000 });
    expect(second.metrics()).toMatchObject({ replayed: closed.spoolPending, spoolPending: 0 });
    await second.close();
    expectExactlyOnce(await countSeqs(topic), 800);
  }, 120_000);

  it('a slow broker, slower than the request timeout for a while: nothing lost, nothing written twice', async () => {
    const topic = await freshTopic('slow');
    const producer = producerOn(transport(), topic);
    proxy.latency(100);
    await emitRange(producer, 0, 300);
    await producer.flush({ timeoutMs: 60_000 });
    // Answers now come after the client's 1 s request timeout: requests are written, then given up on.
    proxy.latency(700);
    await emitRange(producer, 300, 600);
    await until(() => producer.metrics().degraded, 'requests to time out');
    proxy.latency(100);
    await emitRange(producer, 600, 900);
    await producer.flush({ timeoutMs: 60_000 });
    const metrics = producer.metrics();
    await producer.close();
    expect(metrics).toMatchObject({ emitted: 900, sent: 900, dropped: 0, spoolPending: 0 });
    expect(metrics.failedBatches).toBeGreaterThan(0);
    expectExactlyOnce(await countSeqs(topic), 900);
  }, 120_000);

  it('a flapping broker (every connection cut every 150 ms for a while): every event exactly once', async () => {
    const topic = await freshTopic('flapping');
    const producer = producerOn(transport(), topic);
    await emitRange(producer, 0, 200);
    await producer.flush({ timeoutMs: 60_000 });
    const cutsBefore = proxy.cuts;
    const flapping = setInterval(() => proxy.cutAll(), 150);
    try {
      for (let from = 200; from < 2200; from += 100) {
        await emitRange(producer, from, from + 100);
        await sleep(30);
      }
    } finally {
      clearInterval(flapping);
    }
    await producer.flush({ timeoutMs: 60_000 });
    const metrics = producer.metrics();
    await producer.close();
    expect(proxy.cuts).toBeGreaterThan(cutsBefore);
    expect(metrics).toMatchObject({ emitted: 2200, sent: 2200, dropped: 0, spoolPending: 0 });
    expectExactlyOnce(await countSeqs(topic), 2200);
  }, 120_000);
});
