import { randomBytes } from 'node:crypto';
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

/**
 * The same transports with their request timeout far away (30 s): a hang can only be noticed
 * soon by the producer's `degradedAfterMs`, and an answer that comes late is still taken.
 */
const patient: Record<string, () => Transport> = {
  kafkajs: () => kafkaTransport({ brokers, connectionTimeoutMs: 1000, requestTimeoutMs: 30_000 }),
  platformatic: () =>
    platformaticKafkaTransport({ brokers, connectionTimeoutMs: 1000, requestTimeoutMs: 30_000, sendRetries: 1 }),
};

let topics = 0;
async function freshTopic(name: string, partitions = 3): Promise<string> {
  const topic = `${name}-${++topics}`;
  // The first admin requests after the broker's start may find it not ready yet: try again.
  await until(
    () =>
      admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true }).then(
        () => true,
        () => false,
      ),
    `topic ${topic} to be created`,
  );
  return topic;
}

function producerOn(
  transport: Transport,
  topic: string,
  spoolDir = tempDir(),
  degradedAfterMs?: number,
  batch = { maxEvents: 100 },
) {
  return createEventProducer({
    degradedAfterMs,
    batch,
    catalog: testEvents,
    source: 'broker-faults',
    transport,
    topic,
    key: byProfile,
    spool: { dir: spoolDir },
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

/** A new process's producer on the spool a closed one left: it replays all `pending` events of it. */
async function restartOnSpool(transport: Transport, topic: string, spoolDir: string, pending: number) {
  const second = producerOn(transport, topic, spoolDir);
  await second.flush({ timeoutMs: 60_000 });
  expect(second.metrics()).toMatchObject({ replayed: pending, spoolPending: 0 });
  await second.close();
}

/** Every seq in [0, n) exactly once. */
function expectExactlyOnce(counts: Map<number, number>, n: number) {
  const missing = [...Array(n).keys()].filter((seq) => !counts.has(seq));
  const twice = [...counts].filter(([, count]) => count > 1).map(([seq]) => seq);
  expect({ missing, twice, distinct: counts.size }).toEqual({ missing: [], twice: [], distinct: n });
}

describe.each(transports)('a broker behind a fault proxy (%s)', (name, transport) => {
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
    await restartOnSpool(transport(), topic, spoolDir, closed.spoolPending);
    expectExactlyOnce(await countSeqs(topic), 800);
  }, 120_000);

  it('a broker that hangs: degraded after degradedAfterMs, before any request timed out; events go to the spool; close() and a restart lose nothing, write nothing twice', async () => {
    const topic = await freshTopic('hang');
    const spoolDir = tempDir();
    const first = producerOn((patient[name] as () => Transport)(), topic, spoolDir, 300);
    await emitRange(first, 0, 200);
    await first.flush({ timeoutMs: 60_000 });
    // Open connections fall silent; new ones are accepted and never answered.
    proxy.mode('stall');
    await emitRange(first, 200, 500);
    await until(() => first.metrics().degraded, 'the producer to see the broker hang');
    const hung = first.metrics();
    // No request has failed or timed out (30 s away): degradedAfterMs noticed the hang.
    expect(hung).toMatchObject({ failedBatches: 0, retried: 0, dropped: 0 });
    await emitRange(first, 500, 800);
    await first.persisted();
    const later = first.metrics();
    // What was only in memory went to the spool, and every event emitted since follows it there.
    expect(later).toMatchObject({ emitted: 800, invalid: 0, dropped: 0, failedBatches: 0 });
    expect(later.spooled - hung.spooled).toBeGreaterThanOrEqual(300);
    expect(later.spoolPending).toBeGreaterThanOrEqual(300);
    expect(later.buffered).toBeLessThanOrEqual(800 - 200 - later.spoolPending);
    // close() does not wait for the broker: what is in flight goes to the spool too.
    await first.close();
    const closed = first.metrics();
    expect(closed.spoolPending).toBe(800 - closed.sent);
    proxy.mode('pass');
    await restartOnSpool(transport(), topic, spoolDir, closed.spoolPending);
    expectExactlyOnce(await countSeqs(topic), 800);
  }, 120_000);

  it('a broker that answers late (after degradedAfterMs, before the request timeout): degraded meanwhile, the late answers taken, every event once', async () => {
    const topic = await freshTopic('late');
    const producer = producerOn((patient[name] as () => Transport)(), topic, tempDir(), 300);
    await emitRange(producer, 0, 200);
    await producer.flush({ timeoutMs: 60_000 });
    // Every frame waits 1.5 s each way: answers come long after degradedAfterMs, long before the request timeout.
    proxy.latency(1500);
    await emitRange(producer, 200, 500);
    await until(() => producer.metrics().degraded, 'the producer to see the broker hang');
    await emitRange(producer, 500, 700);
    proxy.latency(0);
    await producer.flush({ timeoutMs: 60_000 });
    const metrics = producer.metrics();
    await producer.close();
    // Nothing failed, nothing was sent again: the in-doubt requests kept waiting, and their answers were taken.
    expect(metrics).toMatchObject({
      emitted: 700,
      sent: 700,
      dropped: 0,
      spoolPending: 0,
      failedBatches: 0,
      retried: 0,
      degraded: false,
    });
    expect(metrics.spooled).toBeGreaterThan(0);
    expectExactlyOnce(await countSeqs(topic), 700);
  }, 120_000);

  it('close() while the broker no longer reads cuts the connections: what they still held never reaches it when it reads again', async () => {
    // One partition: each request carries a whole batch (up to 1 MiB) on one connection,
    // more than a socket's receive buffer holds while nobody reads it.
    const topic = await freshTopic('held', 1);
    const spoolDir = tempDir();
    const first = producerOn((patient[name] as () => Transport)(), topic, spoolDir, 300, { maxEvents: 10_000 });
    // Incompressible (gzip): a request of a few hundred of these is larger than a socket buffer.
    const emitBulky = (from: number, to: number) => {
      for (let seq = from; seq < to; seq++) {
        first.emit('play.started', {
          profileId: 'p',
          titleId: randomBytes(3000).toString('base64'),
          country: 'FR',
          seq,
        });
      }
    };
    emitBulky(0, 10);
    await first.flush({ timeoutMs: 60_000 });
    proxy.mode('hold');
    emitBulky(10, 1010);
    await until(() => first.metrics().degraded, 'the producer to see the broker hang');
    await first.close();
    const closed = first.metrics();
    expect(closed).toMatchObject({ emitted: 1010, dropped: 0, sent: 10, spoolPending: 1000 });
    // The broker reads again: whatever the closed producer's sockets still held would be written now.
    proxy.mode('pass');
    await restartOnSpool(transport(), topic, spoolDir, 1000);
    expectExactlyOnce(await countSeqs(topic), 1010);
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
