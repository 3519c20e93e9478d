import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { Kafka, logLevel } from 'kafkajs';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PrivateKafka, startPrivateKafka } from '../../../scripts/private-kafka.ts';
import { freePort } from '../../../scripts/test-ports.ts';
import { kafkaScriptBroker } from '../src/admin/broker-control.ts';
import type { DashboardSnapshot } from '../src/admin/snapshot.ts';
import { runLoad } from '../src/cli/load-generator.ts';
import { type Platform, startPlatform } from '../src/platform.ts';

/** The admin API, as the dashboard's buttons call it. */
function adminOf(platform: Platform) {
  const admin = platform.admin;
  if (!admin) throw new Error('the platform started no admin listener');
  return {
    snapshot: async () => (await (await fetch(`${admin.url}/api/snapshot`)).json()) as DashboardSnapshot,
    chaos: async (path: string, body: unknown = {}) => {
      const response = await fetch(`${admin.url}/api/chaos/${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-chaos-token': admin.token },
        body: JSON.stringify(body),
      });
      expect(response.status, `POST /api/chaos/${path}`).toBe(200);
      return response.json();
    },
  };
}

const command = (snapshot: DashboardSnapshot, key: string) => {
  const found = snapshot.commands.find((c) => c.api === 'v1' && c.key === key);
  if (!found) throw new Error(`no command ${key}`);
  return found;
};

describe('chaos: a slow and a failing service', () => {
  let platform: Platform;
  let admin: ReturnType<typeof adminOf>;

  beforeAll(async () => {
    // A short sleep window, so recovery is seen within the test.
    platform = await startPlatform({ canaryPercent: 0, circuitBreaker: { sleepWindowMs: 1000 } });
    admin = adminOf(platform);
  });
  afterAll(async () => {
    await platform?.close();
  });

  it('refuses chaos without the token, and names unknown services', async () => {
    const url = platform.admin?.url;
    const anonymous = await fetch(`${url}/api/chaos/service/steering`, { method: 'POST', body: '{"down":true}' });
    expect(anonymous.status).toBe(401);
    expect(platform.services.steering.chaos.down).toBe(false);
    const unknown = await fetch(`${url}/api/chaos/service/nope`, {
      method: 'POST',
      headers: { 'x-chaos-token': platform.admin?.token ?? '' },
      body: '{}',
    });
    expect(unknown.status).toBe(404);
    // DNS rebinding: a page of another site resolving its name to 127.0.0.1 sends its own Host.
    const rebound = await request(`${url}/api/snapshot`, { headers: { host: 'evil.example' } });
    await rebound.body.dump();
    expect(rebound.statusCode).toBe(421);
    const noBroker = await fetch(`${url}/api/chaos/broker/stop`, {
      method: 'POST',
      headers: { 'x-chaos-token': platform.admin?.token ?? '' },
    });
    expect(noBroker.status).toBe(409); // embedded mode: no broker to stop
  });

  it('opens the breakers, serves fallbacks and sheds instead of waiting, then recovers after heal', async () => {
    // Steering answers after a second (its command times out at 150 ms); bookmarks fails every call.
    await admin.chaos('service/steering', { latencyMs: 1000 });
    await admin.chaos('service/bookmarks', { failureRate: 1 });
    const faulty = await runLoad({ url: platform.url, durationS: 3, connections: 16 });

    // Every play still answered 200: steering's default CDN list and a resume from zero stood in.
    expect(faulty.errorRate, JSON.stringify(faulty.errors)).toBe(0);
    expect(faulty.requests).toBeGreaterThan(0);
    expect(faulty.fallbacks['steering (short-circuited)']).toBeGreaterThan(0);
    expect(faulty.fallbacks['bookmarks (short-circuited)']).toBeGreaterThan(0);

    const during = await admin.snapshot();
    const steering = command(during, 'steering.steer');
    const bookmarks = command(during, 'bookmarks.get');
    // Tripped: open, or half-open once the 1 s sleep window passed with no call since (opossum's timer).
    expect(['open', 'half-open']).toContain(steering.circuit);
    expect(['open', 'half-open']).toContain(bookmarks.circuit);
    // Shed, not queued: most calls were short-circuited at once; only a few waited for the timeout.
    expect(steering.counts.shortCircuited).toBeGreaterThan(steering.counts.timeout);
    expect(bookmarks.counts.shortCircuited).toBeGreaterThan(bookmarks.counts.failure);
    // The slow service never filled its bulkhead: nothing was rejected for want of a slot.
    const steeringGroup = during.groups.find((g) => g.api === 'v1' && g.group === 'steering');
    expect(steeringGroup?.rejected).toBe(0);
    expect(steeringGroup?.rollingMaxActive).toBeLessThanOrEqual(16);
    // Unaffected services kept their circuits closed.
    expect(command(during, 'license.issue').circuit).toBe('closed');
    expect(command(during, 'subscriber.get').circuit).toBe('closed');

    // Heal: after the sleep window one trial call closes each circuit, and nothing falls back any more.
    await admin.chaos('heal');
    await expect
      .poll(
        async () => {
          await runLoad({ url: platform.url, durationS: 0.3, connections: 2 });
          const s = await admin.snapshot();
          return [command(s, 'steering.steer').circuit, command(s, 'bookmarks.get').circuit];
        },
        { timeout: 15_000, interval: 200 },
      )
      .toEqual(['closed', 'closed']);
    const healed = await runLoad({ url: platform.url, durationS: 1, connections: 8 });
    expect(healed.errorRate).toBe(0);
    expect(healed.fallbacks).toEqual({});
  });
});

// Real mode on a private broker (its own free ports and state), so the shared one on 9092 is never stopped.

describe('chaos in real mode: the broker stopped under load', () => {
  let broker: PrivateKafka | undefined;
  let brokers: string[];
  let dataDir: string;
  let platform: Platform;

  beforeAll(async () => {
    broker = await startPrivateKafka();
    brokers = broker.brokers;
    dataDir = await mkdtemp(join(tmpdir(), 'play-chaos-data-'));
    const topic = 'play-events-chaos';
    const kafkaAdmin = new Kafka({ brokers, logLevel: logLevel.NOTHING }).admin();
    await kafkaAdmin.connect();
    await kafkaAdmin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true });
    await kafkaAdmin.disconnect();
    platform = await startPlatform({
      canaryPercent: 0,
      dataDir,
      kafkaBrokers: brokers,
      topic,
      admin: { broker: kafkaScriptBroker({ brokers, env: broker.env() }) },
    });
  }, 180_000);
  afterAll(async () => {
    try {
      await platform?.close();
    } finally {
      // The private broker goes even when the platform's close fails.
      await broker?.remove();
      if (dataDir) await rm(dataDir, { recursive: true, force: true });
    }
  }, 120_000);

  /** Ids of every raw event the stream processor persisted, one per raw record (a repeated id is a double count). */
  async function persistedIds(): Promise<string[]> {
    const ids: string[] = [];
    for await (const entry of platform.store.list({ prefix: 'raw/' })) {
      if (entry.type !== 'object') continue;
      const lines = gunzipSync((await platform.store.get(entry.key)).body)
        .toString('utf8')
        .trim()
        .split('\n');
      for (const line of lines) if (line) ids.push((JSON.parse(line) as { id: string }).id);
    }
    return ids;
  }

  it('keeps serving plays, spools events, and loses none of them', async () => {
    const admin = adminOf(platform);
    const before = await runLoad({ url: platform.url, durationS: 2, connections: 4 });
    expect(platform.events.length).toBeGreaterThan(0);

    await admin.chaos('broker/stop');
    expect((await admin.snapshot()).chaos.broker.stopped).toBe(true);
    const during = await runLoad({ url: platform.url, durationS: 3, connections: 4 });
    await expect
      .poll(async () => (await admin.snapshot()).events.producers['play-api-v1']?.degraded, {
        timeout: 30_000,
        interval: 250,
      })
      .toBe(true);
    const emittedBeforeRestart = platform.events.length;
    await admin.chaos('broker/start');
    const after = await runLoad({ url: platform.url, durationS: 2, connections: 4 });

    // Plays kept being answered. Some get a clear 503 while the test's one process shares the machine
    // with the broker's JVM stopping and starting (the licence, which has no fallback, times out):
    // never a hang or a reset, and most plays succeed.
    for (const [phase, summary] of Object.entries({ before, during, after })) {
      for (const kind of Object.keys(summary.errors)) expect(kind, phase).toMatch(/^503 /);
      expect(summary.errorRate, `${phase}: ${JSON.stringify(summary.errors)} of ${summary.requests}`).toBeLessThan(0.2);
    }
    expect(platform.events.length).toBeGreaterThan(emittedBeforeRestart);
    const producer = (await admin.snapshot()).events.producers['play-api-v1'];
    expect(producer?.failedBatches).toBeGreaterThan(0); // the outage was seen, and ridden out
    expect(producer?.dropped).toBe(0);

    // Every emitted event reaches the stream processor and is persisted once: the processor's
    // checkpoints (offsets and window state in one transaction) survive the broker's stop and start.
    const emitted = platform.events.map((event) => event.id);
    await expect
      .poll(
        async () => {
          const persisted = new Set(await persistedIds());
          return emitted.filter((id) => !persisted.has(id)).length;
        },
        { timeout: 90_000, interval: 1000 },
      )
      .toBe(0);
    const persisted = await persistedIds();
    expect(persisted.length - new Set(persisted).size, 'raw records persisted twice').toBe(0);
    const settled = await admin.snapshot();
    expect(settled.events.producers['play-api-v1']).toMatchObject({ degraded: false, spoolPending: 0, dropped: 0 });
  }, 180_000);

  it('refuses to stop a broker that kafka.sh does not run at the platform address, and leaves it running', async () => {
    // kafka.sh's private broker listens on its own port; a platform on another port or host is not its business.
    const elsewhere = kafkaScriptBroker({
      brokers: [`127.0.0.1:${await freePort()}`],
      env: broker?.env() ?? process.env,
    });
    await expect(elsewhere.stop()).rejects.toMatchObject({ code: 'broker_not_controlled' });
    expect(elsewhere.stopped).toBe(false);
    const remote = kafkaScriptBroker({ brokers: ['broker.invalid:9092'], env: broker?.env() ?? process.env });
    await expect(remote.stop()).rejects.toMatchObject({ code: 'broker_not_controlled' });
    const kafkaAdmin = new Kafka({ brokers, logLevel: logLevel.NOTHING }).admin();
    await kafkaAdmin.connect();
    expect(await kafkaAdmin.listTopics()).toContain('play-events-chaos');
    await kafkaAdmin.disconnect();
  }, 60_000);
});
