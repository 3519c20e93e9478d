import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Admin, Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PrivateKafka, startPrivateKafka } from '../../../scripts/private-kafka.js';
import { freePort } from '../../../scripts/test-ports.js';
import { createEventProducer, kafkaTransport } from '../src/index.js';
import { fixKafkajsRequestQueue } from '../src/transport/kafka/request-queue-fix.js';
import { byProfile, events as testEvents } from './fixtures/catalog.js';
import { readTopic, removeTempDirs, tempDir, until } from './helpers.js';

// Fault tests on a private broker (its own ports and state), so the shared one is never stopped.
const repo = fileURLToPath(new URL('../../../', import.meta.url));
/** Child processes run the package's sources (no build first): workspace imports map to `src/`. */
const tsHooks = join(repo, 'scripts/ts-hooks.mjs');
/** The private broker's address (its ports are free ones, picked when the suite starts). */
const brokers: string[] = [];
let privateKafka: PrivateKafka | undefined;

function broker(action: 'up' | 'down'): void {
  if (!privateKafka) throw new Error('the private broker did not start');
  if (action === 'up') privateKafka.up();
  else privateKafka.down();
}

let admin: Admin;

beforeAll(async () => {
  privateKafka = await startPrivateKafka();
  brokers.push(...privateKafka.brokers);
  // Raw kafkajs clients of the test get the fix kafkaTransport applies to its own (no negative-timeout warning).
  fixKafkajsRequestQueue();
  const kafka = new Kafka({ clientId: 'faults-test', brokers, logLevel: logLevel.NOTHING });
  admin = kafka.admin();
  await admin.connect();
}, 180_000);

afterAll(async () => {
  await admin?.disconnect().catch(() => {});
  await privateKafka?.remove();
  removeTempDirs();
}, 60_000);

describe('nothing lost: faults against a real broker', () => {
  it('keeps every event, in order per key, while the broker is stopped mid-stream and started again', async () => {
    const topic = 'outage';
    await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
    const producer = createEventProducer({
      catalog: testEvents,
      source: 'play-api',
      transport: kafkaTransport({ brokers, connectionTimeoutMs: 1000, requestTimeoutMs: 5000 }),
      topic,
      key: byProfile,
      bufferBytes: 64 * 1024, // small: the outage reaches the spool
      spool: { dir: tempDir() },
      batch: { maxEvents: 100 },
      retry: { initialDelayMs: 50, maxDelayMs: 500 },
    });
    const N = 3000;
    let seq = 0;
    const emit = async (count: number) => {
      for (const stop = seq + count; seq < stop; seq++) {
        producer.emit('play.started', { profileId: `p${seq % 7}`, titleId: 't', country: 'FR', seq });
        if (seq % 20 === 0) await new Promise((resolve) => setTimeout(resolve, 1));
      }
    };
    await emit(1000);
    broker('down');
    await emit(1000);
    await until(() => producer.metrics().degraded, 'the producer to notice the outage');
    await emit(200);
    broker('up');
    await emit(N - 2200);
    await producer.flush({ timeoutMs: 120_000 });
    const metrics = producer.metrics();
    await producer.close();
    expect(metrics).toMatchObject({ emitted: N, dropped: 0, spoolPending: 0, held: 0 });
    expect(metrics.spooled).toBeGreaterThan(0);
    expect(metrics.failedBatches).toBeGreaterThan(0);

    const received = readTopic(brokers, topic).map((m) => testEvents.decode(m.value));
    const ids = new Set(received.map((e) => e.id));
    expect(received.length).toBeGreaterThanOrEqual(N); // at least once
    expect(ids.size).toBe(N); // exactly once after de-duplication by id
    for (let p = 0; p < 7; p++) {
      const firstSeen: number[] = [];
      const seen = new Set<number>();
      for (const e of received) {
        const payload = e.payload as { profileId: string; seq: number };
        if (payload.profileId !== `p${p}` || seen.has(payload.seq)) continue;
        seen.add(payload.seq);
        firstSeen.push(payload.seq);
      }
      expect(firstSeen).toEqual([...firstSeen].sort((a, b) => a - b));
    }
  }, 180_000);

  it('loses nothing when the producer process is killed mid-stream and restarted on its spool', async () => {
    const topic = 'killed';
    await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
    const spoolDir = tempDir();
    const fixture = fileURLToPath(new URL('./fixtures/kill-producer.mjs', import.meta.url));
    const N = 6000;
    const run = (start: number, end: number) => {
      const child = spawn(
        process.execPath,
        ['--import', tsHooks, fixture, brokers.join(','), topic, spoolDir, String(start), String(end)],
        {
          env: { ...process.env, KAFKAJS_NO_PARTITIONER_WARNING: '1', NODE_NO_WARNINGS: '1' },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      const state = { emitted: -1, done: false, stderr: '' };
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        for (const line of chunk.split('\n')) {
          if (line.startsWith('emitted ')) state.emitted = Number(line.slice(8));
          if (line.startsWith('done ')) state.done = true;
        }
      });
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
        state.stderr += chunk;
      });
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      return { child, state, exited };
    };

    const first = run(0, N);
    await until(() => first.state.emitted >= 2000 || first.state.done, 'the first producer to be mid-stream');
    first.child.kill('SIGKILL');
    await first.exited;
    expect(first.state.done).toBe(false);
    const resumeAt = first.state.emitted + 1;

    const second = run(resumeAt, N);
    const code = await second.exited;
    expect(second.state.stderr).toBe('');
    expect(code).toBe(0);
    expect(second.state.done).toBe(true);

    const ids = readTopic(brokers, topic).map((m) => (JSON.parse(m.value) as { id: string }).id);
    const distinct = new Set(ids);
    expect(ids.length).toBeGreaterThanOrEqual(N); // at least once
    expect(distinct.size).toBe(N); // exactly once after de-duplication
    for (let i = 0; i < N; i++) expect(distinct.has(`kill-${i}`)).toBe(true);
  }, 180_000);
});

/** Runs a fixture producer process; `state` follows what it printed. */
function runChild(fixture: string, args: string[]) {
  const child = spawn(
    process.execPath,
    ['--import', tsHooks, fileURLToPath(new URL(`./fixtures/${fixture}`, import.meta.url)), ...args],
    {
      env: { ...process.env, KAFKAJS_NO_PARTITIONER_WARNING: '1', NODE_NO_WARNINGS: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const state = { emitted: -1, degraded: false, done: false, stdout: '', stderr: '' };
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    state.stdout += chunk;
    for (const line of chunk.split('\n')) {
      if (line.startsWith('emitted ')) state.emitted = Number(line.slice(8));
      if (line === 'degraded') state.degraded = true;
      if (line.startsWith('done ')) state.done = true;
    }
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    state.stderr += chunk;
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, state, exited };
}

describe('outages are seen at once, and the default mode is crash-safe during one', () => {
  it('default spool: a producer SIGKILLed during an outage loses no accepted event', async () => {
    const topic = 'outage-killed';
    await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
    const spoolDir = tempDir();
    const N = 4000;
    // Nothing listens there: the broker is away for the whole life of the first process.
    const away = `127.0.0.1:${await freePort()}`;
    const first = runChild('outage-producer.mjs', [away, topic, spoolDir, '0', String(N), 'outage', 'wait-degraded']);
    await until(() => first.state.emitted >= 2000 || first.state.done, 'the first producer to be mid-outage');
    first.child.kill('SIGKILL');
    await first.exited;
    expect(first.state.degraded).toBe(true);
    expect(first.state.done).toBe(false);
    const accepted = first.state.emitted + 1;

    const second = runChild('outage-producer.mjs', [
      brokers.join(','),
      topic,
      spoolDir,
      String(accepted),
      String(N),
      'outage',
    ]);
    const code = await second.exited;
    expect(second.state.stderr).toBe('');
    expect(code).toBe(0);
    expect(second.state.done).toBe(true);

    const ids = new Set(readTopic(brokers, topic).map((m) => (JSON.parse(m.value) as { id: string }).id));
    const missing: number[] = [];
    for (let i = 0; i < N; i++) if (!ids.has(`outage-${i}`)) missing.push(i);
    expect(missing).toEqual([]);
  }, 180_000);

  it('notices a graceful broker stop at once; close() during the outage spools and returns without waiting out its timeout', async () => {
    const topic = 'stop-noticed';
    await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
    const spoolDir = tempDir();
    const options = {
      catalog: testEvents,
      source: 'play-api',
      transport: kafkaTransport({ brokers, connectionTimeoutMs: 1000, requestTimeoutMs: 5000 }),
      topic,
      key: byProfile,
      spool: { dir: spoolDir },
      closeTimeoutMs: 30_000,
    };
    const producer = createEventProducer(options);
    const ids: string[] = [];
    const emit = (count: number) => {
      for (let i = 0; i < count; i++) {
        const seq = ids.length;
        ids.push(
          producer.emitEnvelope('play.started', { profileId: `p${seq % 7}`, titleId: 't', country: 'FR', seq }).id,
        );
      }
    };
    emit(500);
    await producer.flush({ timeoutMs: 30_000 });
    broker('down');
    const emitter = setInterval(() => emit(20), 10);
    try {
      // Generous bound: before, the kafkajs transport took 12–25 s (or never) to notice.
      await until(() => producer.metrics().degraded, 'the producer to notice the stopped broker', 5_000);
    } finally {
      clearInterval(emitter);
    }
    emit(100);
    let closed = false;
    const closing = producer.close().then(() => {
      closed = true;
    });
    // closeTimeoutMs is 30 s: with the broker away, close() spools at once instead of waiting it out.
    await until(() => closed, 'close() to return during the outage', 10_000);
    await closing;
    const metrics = producer.metrics();
    expect(metrics.dropped).toBe(0);
    expect(metrics.emitted).toBe(ids.length);

    broker('up');
    const next = createEventProducer(options);
    await next.flush({ timeoutMs: 120_000 });
    await next.close();
    const written = new Set(readTopic(brokers, topic).map((m) => testEvents.decode(m.value).id));
    expect(ids.filter((id) => !written.has(id))).toEqual([]);
  }, 180_000);
});
