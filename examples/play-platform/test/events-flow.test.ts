import { randomUUID } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { gunzipSync } from 'node:zlib';
import { Client } from 'cassandra-driver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serviceEnv } from '../../../scripts/test-env.js';
import { tokenFor } from '../src/edge/demo-users.ts';
import { type Platform, type PlatformOptions, startPlatform } from '../src/platform.ts';

const { kafkaBrokers, s3 } = serviceEnv();
const cassandraOff = process.env.BACKLOT_CASSANDRA === 'off';
const cassandraPoints = (
  process.env.BACKLOT_CASSANDRA_CONTACT_POINTS ?? `127.0.0.1:${process.env.BACKLOT_CASSANDRA_PORT ?? '9042'}`
).split(',');

/**
 * Real mode: the foundation's Kafka broker, S3 server and Cassandra node, a
 * fresh topic, bucket and keyspace per run. The topic and the keyspace are
 * not created here: the platform creates them at start, as on fresh services.
 * (BACKLOT_CASSANDRA=off: without Cassandra.)
 */
async function realMode(): Promise<PlatformOptions> {
  const topic = `play-events-${randomUUID().slice(0, 8)}`;
  return {
    topic,
    kafkaBrokers,
    s3: {
      endpoint: s3.endpoint,
      bucket: `play-${randomUUID().slice(0, 8)}`,
      region: s3.region,
      accessKeyId: s3.accessKeyId,
      secretAccessKey: s3.secretAccessKey,
    },
    ...(cassandraOff
      ? {}
      : { cassandra: { contactPoints: cassandraPoints, keyspace: `play_${randomUUID().slice(0, 8)}` } }),
  };
}

const modes: [string, () => Promise<PlatformOptions>][] = [
  [
    'embedded defaults (filesystem store, embedded event log)',
    async () => ({ dataDir: await mkdtemp(join(tmpdir(), 'play-platform-')) }),
  ],
  ['real mode (Kafka broker, S3 server, Cassandra node)', realMode],
];

describe.each(modes)('the Play flow end to end, %s', (_mode, options) => {
  let platform: Platform;
  let started: PlatformOptions;

  beforeAll(async () => {
    started = await options();
    // Small event-time windows so the test sees trending results in seconds.
    platform = await startPlatform({
      ...started,
      canaryPercent: 0,
      trendingWindow: { sizeMs: 1000, advanceMs: 500, allowedLatenessMs: 0 },
    });
  });
  afterAll(async () => {
    await platform?.close();
    if (started?.cassandra?.keyspace) {
      const raw = new Client({ contactPoints: cassandraPoints, localDataCenter: 'datacenter1' });
      await raw.execute(`DROP KEYSPACE IF EXISTS ${started.cassandra.keyspace}`).finally(() => raw.shutdown());
    }
  });

  /** One call; a 503 (a command timed out or shed while a loaded machine is slow) is tried again, a few times. */
  async function call(method: string, path: string, profileId: string, body?: unknown) {
    let answer = { status: 0, body: {} as Record<string, unknown> };
    for (let attempt = 0; attempt < 5; attempt++) {
      if (attempt > 0) await sleep(250);
      const response = await fetch(`${platform.url}${path}`, {
        method,
        headers: { 'content-type': 'application/json', authorization: `Bearer ${await tokenFor(profileId)}` },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      answer = { status: response.status, body: (await response.json()) as Record<string, unknown> };
      if (answer.status !== 503) break;
    }
    return answer;
  }

  async function objectsUnder(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    for await (const entry of platform.store.list({ prefix })) if (entry.type === 'object') keys.push(entry.key);
    return keys;
  }

  it('turns plays into trending titles, progress into continue-watching, and persists raw events and outputs', async () => {
    // Plays in NL: Stranger Things twice (two profiles), Our Planet once.
    const ada = await call('POST', '/play', 'p-ada', { profileId: 'p-ada', titleId: '80100172', device: 'tv' });
    expect(ada.status, JSON.stringify(ada.body)).toBe(200);
    const web = await call('POST', '/play', 'p-ada', { profileId: 'p-ada', titleId: '70264888', device: 'web' });
    expect(web.status, JSON.stringify(web.body)).toBe(200);
    const session = (ada.body.license as { sessionId: string }).sessionId;
    await call('POST', '/play/heartbeat', 'p-ada', {
      profileId: 'p-ada',
      titleId: '80100172',
      sessionId: session,
      positionMs: 600_000,
    });
    const stopped = await call('POST', '/play/stop', 'p-ada', {
      profileId: 'p-ada',
      titleId: '80100172',
      sessionId: session,
      positionMs: 720_000,
    });
    expect(stopped.status, JSON.stringify(stopped.body)).toBe(200);

    // Event time moves on: a later play closes the earlier windows.
    await sleep(1600);
    await call('POST', '/play', 'p-bo', { profileId: 'p-bo', titleId: '80100172', device: 'tv' });

    // Trending in NL and Ada's continue-watching row, as the Play API serves them through /browse.
    await expect
      .poll(async () => ((await call('GET', '/browse?country=NL', 'p-ada')).body.trending as unknown[]).length, {
        timeout: 15_000,
        interval: 250,
      })
      .toBeGreaterThan(0);
    const browse = await call('GET', '/browse?country=NL', 'p-ada');
    expect(browse.status).toBe(200);
    const trending = browse.body.trending as { titleId: string; plays: number }[];
    expect(trending.map((t) => t.titleId)).toEqual(expect.arrayContaining(['80100172']));
    await expect
      .poll(
        async () =>
          (
            (await call('GET', '/browse?country=NL', 'p-ada')).body.continueWatching as {
              titleId: string;
              positionMs: number;
            }[]
          ).find((t) => t.titleId === '80100172')?.positionMs,
        { timeout: 15_000, interval: 250 },
      )
      .toBe(720_000);

    // What the services emitted, in order per profile.
    const names = platform.events.filter((e) => e.payload.profileId === 'p-ada').map((e) => e.name);
    expect(names).toEqual(
      expect.arrayContaining([
        'playback.started',
        'playback.heartbeat',
        'playback.stopped',
        'bookmark.updated',
        'impression',
      ]),
    );

    // Step 8: raw events and the trending windows persisted as gzip NDJSON, partitioned by time.
    await expect.poll(() => objectsUnder('raw/'), { timeout: 15_000, interval: 250 }).not.toEqual([]);
    const raw = await objectsUnder('raw/');
    expect(raw[0]).toMatch(/^raw\/play-events[^/]*\/date=\d{4}-\d{2}-\d{2}\/hour=\d{2}\/.+\.ndjson\.gz$/);
    const lines = gunzipSync((await platform.store.get(raw[0] as string)).body)
      .toString('utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { id: string; name: string });
    expect(lines.length).toBeGreaterThan(0);
    expect(lines[0]?.id).toMatch(/^[0-9a-f-]{36}$/);
    await expect.poll(() => objectsUnder('output/trending/'), { timeout: 15_000, interval: 250 }).not.toEqual([]);

    const metrics = platform.eventMetrics();
    expect(metrics.producers['play-api-v1']?.invalid).toBe(0);

    if (started.cassandra?.keyspace) await expectRowsInCassandra(started.cassandra.keyspace, objectsUnder);
  });
});

/**
 * Counted from outside with a plain driver client: Ada's bookmark, her two
 * stream leases and her viewing history are rows in Cassandra, not objects in S3.
 */
async function expectRowsInCassandra(keyspace: string, objectsUnder: (prefix: string) => Promise<string[]>) {
  const raw = new Client({
    contactPoints: cassandraPoints,
    localDataCenter: 'datacenter1',
    socketOptions: { readTimeout: 10_000 },
  });
  try {
    const kv = (await raw.execute(`SELECT namespace, id, value FROM ${keyspace}.kv`)).rows.map((row) => ({
      namespace: row.namespace as string,
      id: row.id as string,
      value: JSON.parse(row.value as string) as Record<string, unknown>,
    }));
    expect(kv.find((row) => row.namespace === 'bookmarks' && row.id === 'p-ada--80100172')?.value).toMatchObject({
      profileId: 'p-ada',
      titleId: '80100172',
      positionMs: 720_000,
    });
    const leases = kv.filter((row) => row.namespace === 'stream-leases' && row.id.startsWith('p-ada/'));
    expect(leases.map((row) => row.value.titleId).sort()).toEqual(['70264888', '80100172']);

    const history = (
      await raw.execute(
        `SELECT value FROM ${keyspace}.series WHERE series = ? AND pkey = ?`,
        ['viewing-history', 'p-ada'],
        { prepare: true },
      )
    ).rows.map((row) => JSON.parse(row.value as string) as { titleId: string; positionMs: number });
    expect(history).toEqual(
      expect.arrayContaining([expect.objectContaining({ titleId: '80100172', positionMs: 720_000 })]),
    );
    expect(history.map((entry) => entry.titleId)).toContain('70264888');
  } finally {
    await raw.shutdown();
  }
  // S3 keeps the raw events and outputs, not the per-user state.
  expect(await objectsUnder('kv/bookmarks/')).toEqual([]);
  expect(await objectsUnder('kv/stream-leases/')).toEqual([]);
  expect(await objectsUnder('kv/continue-watching/')).toEqual([]);
}
