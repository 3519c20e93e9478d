import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PrivateKafka, startPrivateKafka } from '../../../scripts/private-kafka.ts';
import { serviceEnv } from '../../../scripts/test-env.ts';
import type { DashboardSnapshot } from '../src/admin/snapshot.ts';
import { runLoad } from '../src/cli/load-generator.ts';
import { captureOutput } from './support/child-output.ts';

/**
 * `npm start` in real mode, run as a user runs it (its own process group, a
 * load balancer and a gateway process), stopped three ways — Ctrl-C (SIGINT to
 * the group), SIGKILL of the group, and the broker stopped and started from
 * the dashboard's chaos controls — and checked from outside after each: kcat
 * reads the events topic, the S3 API reads the raw events and the trending
 * windows, and the views service answers trending. Every record in Kafka is
 * persisted exactly once in the raw events, every trending window result is
 * written once and equals what the records in Kafka give, and trending served
 * by the API counts each play once.
 *
 * The broker is a private one on free ports, so stopping it never touches
 * the shared one.
 */
const example = fileURLToPath(new URL('../', import.meta.url));
const TOPIC = 'play-events';
// Trending's windows: 2 s every 1 s, 1 s of lateness — small enough to close many within the test.
const WINDOW = { sizeMs: 2000, advanceMs: 1000, latenessMs: 1000 };
const { s3 } = serviceEnv();
const bucket = `play-restart-${Date.now().toString(36)}`;
const s3Client = new S3Client({
  endpoint: s3.endpoint,
  region: s3.region,
  forcePathStyle: true,
  credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
});

let broker: PrivateKafka;
let dataDir: string;

/** One `npm start` (node src/main.ts) in its own process group, as a terminal runs it. */
interface Running {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
  balancer: string;
  admin: string;
  views: string;
  token: string;
}

const running = new Set<Running>();

async function npmStart(): Promise<Running> {
  const child = spawn(
    process.execPath,
    [
      'src/main.ts',
      '--kafka',
      broker.brokers.join(','),
      '--s3-endpoint',
      s3.endpoint,
      '--s3-bucket',
      bucket,
      '--data-dir',
      dataDir,
      '--port',
      '0',
      '--admin-port',
      '0',
      '--gateways',
      '1',
      '--canary-percent',
      '0',
      '--trending-window',
      `${WINDOW.sizeMs}ms/${WINDOW.advanceMs}ms/${WINDOW.latenessMs}ms`,
    ],
    {
      cwd: example,
      detached: true, // its own process group: Ctrl-C and SIGKILL reach the gateway processes too
      env: {
        ...broker.env(),
        BACKLOT_S3_ACCESS_KEY_ID: s3.accessKeyId,
        BACKLOT_S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
        BACKLOT_S3_REGION: s3.region,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const { output, exited } = captureOutput(child);
  await expect
    .poll(() => (child.exitCode === null ? output() : `exited ${child.exitCode}: ${output()}`), {
      timeout: 180_000,
      interval: 250,
    })
    .toContain('Press Ctrl-C to stop.');
  const found = (pattern: RegExp) => {
    const match = pattern.exec(output())?.[1];
    if (!match) throw new Error(`npm start printed no ${pattern}:\n${output()}`);
    return match;
  };
  const started: Running = {
    child,
    output,
    exited,
    balancer: found(/load balancer\s+(http:\/\/127\.0\.0\.1:\d+)/),
    admin: found(/dashboard\s+(http:\/\/127\.0\.0\.1:\d+)/),
    views: found(/^\s+views\s+(http:\/\/127\.0\.0\.1:\d+)/m),
    token: found(/x-chaos-token: ([0-9a-f]+)'/),
  };
  running.add(started);
  void exited.then(() => running.delete(started));
  return started;
}

/** Sends `signal` to the platform's whole process group (the main process and its gateways). */
function signalGroup(platform: Running, signal: NodeJS.Signals): void {
  process.kill(-(platform.child.pid as number), signal);
}

const snapshotOf = async (platform: Running) =>
  (await (await fetch(`${platform.admin}/api/snapshot`)).json()) as DashboardSnapshot;

/** Waits until the stream processor owns its partition (restored) or consumed something, then a little more. */
async function consumerStarted(platform: Running): Promise<void> {
  await expect
    .poll(
      async () => {
        const pipeline = (await snapshotOf(platform)).events.pipeline;
        return (pipeline?.partitions.length ?? 0) > 0 || (pipeline?.consumed ?? 0) > 0;
      },
      { timeout: 60_000 },
    )
    .toBe(true);
  await sleep(2000); // time to read anything it would read again
}

async function chaos(platform: Running, path: string): Promise<void> {
  const response = await fetch(`${platform.admin}/api/chaos/${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-chaos-token': platform.token },
    body: '{}',
  });
  expect(response.status, `POST /api/chaos/${path}: ${await response.clone().text()}`).toBe(200);
  await response.arrayBuffer();
}

/** A record of the events topic as kcat reads it. */
interface TopicRecord {
  partition: number;
  offset: number;
  event: { id: string; name: string; time: string; payload: { country?: string; titleId?: string } };
}

/** The events topic from the beginning, read by kcat (a client that is not ours). */
function topicRecords(): TopicRecord[] {
  const out = execFileSync(
    'kcat',
    ['-C', '-b', broker.brokers[0] as string, '-t', TOPIC, '-o', 'beginning', '-e', '-q', '-f', '%p\t%o\t%s\n'],
    { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 },
  );
  return out
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [partition, offset, value] = line.split('\t') as [string, string, string];
      return { partition: Number(partition), offset: Number(offset), event: JSON.parse(value) };
    });
}

/** Every NDJSON line of the objects under `prefix` in the bucket, read with the S3 API. */
async function s3Lines(prefix: string): Promise<Record<string, unknown>[]> {
  const lines: Record<string, unknown>[] = [];
  let token: string | undefined;
  do {
    const page = await s3Client.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
    );
    for (const object of page.Contents ?? []) {
      const body = await s3Client.send(new GetObjectCommand({ Bucket: bucket, Key: object.Key }));
      const text = gunzipSync(
        await (body.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray(),
      )
        .toString('utf8')
        .trim();
      for (const line of text.split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
    }
    token = page.NextContinuationToken;
  } while (token);
  return lines;
}

const countBy = (values: string[]) => {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return counts;
};

/**
 * What trending must hold, computed from the topic alone: plays per
 * (country/title, window) of hopping windows on event time, each partition in
 * offset order closing its windows by the highest event time it has seen, an
 * event later than the lateness allows counted in no window (the pipeline's
 * documented window semantics). Returns the closed windows: `start|key` → plays.
 */
function expectedTrending(records: TopicRecord[]): Map<string, number> {
  const closed = new Map<string, number>();
  const partitions = countBy(records.map((r) => String(r.partition)));
  for (const partition of partitions.keys()) {
    const open = new Map<string, number>();
    let streamTime = Number.NEGATIVE_INFINITY;
    const inOrder = records.filter((r) => String(r.partition) === partition).sort((a, b) => a.offset - b.offset);
    for (const { event } of inOrder) {
      if (event.name !== 'playback.started') continue;
      const time = Date.parse(event.time);
      const key = `${event.payload.country}/${event.payload.titleId}`;
      const last = Math.floor(time / WINDOW.advanceMs) * WINDOW.advanceMs;
      for (let start = last; start > time - WINDOW.sizeMs; start -= WINDOW.advanceMs) {
        if (start + WINDOW.sizeMs + WINDOW.latenessMs <= streamTime) continue; // late
        open.set(`${start}|${key}`, (open.get(`${start}|${key}`) ?? 0) + 1);
      }
      streamTime = Math.max(streamTime, time);
      for (const [id, plays] of open) {
        const start = Number(id.slice(0, id.indexOf('|')));
        if (start + WINDOW.sizeMs + WINDOW.latenessMs <= streamTime) {
          closed.set(id, (closed.get(id) ?? 0) + plays);
          open.delete(id);
        }
      }
    }
  }
  return closed;
}

/**
 * Waits until the stream processor has persisted every record of the topic,
 * then checks, from outside, that nothing was counted twice anywhere.
 */
async function expectEachEventCountedOnce(platform: Running, phase: string): Promise<void> {
  // What the producers spooled (the broker away) is delivered first, so the topic holds every event.
  await expect
    .poll(
      async () =>
        Object.values((await snapshotOf(platform)).events.producers).filter((p) => p.degraded || p.spoolPending > 0)
          .length,
      { timeout: 120_000, interval: 1000 },
    )
    .toBe(0);

  // Raw events: each record of the topic persisted exactly once (a record a producer wrote twice
  // is in Kafka twice, and must then be in the raw events twice, no more). Polled until the
  // processor caught up; a record persisted twice never disappears, so it fails here.
  let records: TopicRecord[] = [];
  const rawDiffering = async () => {
    records = topicRecords();
    const inKafka = countBy(records.map((r) => r.event.id));
    const raw = countBy((await s3Lines('raw/')).map((line) => line.id as string));
    const ids = new Set([...inKafka.keys(), ...raw.keys()]);
    return [...ids]
      .filter((id) => raw.get(id) !== inKafka.get(id))
      .slice(0, 5)
      .map((id) => ({ id, inKafka: inKafka.get(id) ?? 0, raw: raw.get(id) ?? 0 }));
  };
  await expect
    .poll(rawDiffering, { timeout: 120_000, interval: 1000, message: `${phase}: raw events once per Kafka record` })
    .toEqual([]);
  expect(records.length, `${phase}: events in Kafka`).toBeGreaterThan(0);

  // Trending windows: each (window, key) result written once, with the plays the topic gives.
  const expected = expectedTrending(records);
  const results = async () =>
    (await s3Lines('output/trending/')).map((line) => ({ id: `${line.start}|${line.key}`, plays: Number(line.value) }));
  await expect
    .poll(async () => new Set((await results()).map((r) => r.id)).size, { timeout: 60_000, interval: 1000 })
    .toBe(expected.size);
  const written = await results();
  const writtenTwice = [...countBy(written.map((r) => r.id))].filter(([, n]) => n > 1);
  expect(writtenTwice.slice(0, 5), `${phase}: trending window results written more than once`).toEqual([]);
  const wrong = written.filter((r) => expected.get(r.id) !== r.plays);
  expect(
    wrong.slice(0, 5).map((r) => ({ ...r, expected: expected.get(r.id) })),
    `${phase}: trending plays differing from the topic's`,
  ).toEqual([]);

  // Trending as the example's views API serves it: the latest closed window of each country, each play once.
  for (const country of ['NL', 'US']) {
    // No window of the country closed yet: the API serves an empty ranking (windowEnd 0).
    const latestEnd = Math.max(
      0,
      ...[...expected.keys()]
        .filter((id) => id.includes(`|${country}/`))
        .map((id) => Number(id.slice(0, id.indexOf('|'))) + WINDOW.sizeMs),
    );
    const served = async () => (await (await fetch(`${platform.views}/trending/${country}`)).json()) as TrendingView;
    await expect.poll(async () => (await served()).windowEnd, { timeout: 30_000, interval: 500 }).toBe(latestEnd);
    const { windowStart, titles } = await served();
    const servedPlays = Object.fromEntries(titles.map((t) => [t.titleId, t.plays]));
    const topicPlays = Object.fromEntries(
      [...expected]
        .filter(([id]) => id.startsWith(`${windowStart}|${country}/`))
        .map(([id, plays]) => [id.slice(id.indexOf('/') + 1), plays]),
    );
    expect(servedPlays, `${phase}: trending in ${country} served by the views API`).toEqual(topicPlays);
  }
}

interface TrendingView {
  country: string;
  windowStart: number;
  windowEnd: number;
  titles: { titleId: string; plays: number }[];
}

beforeAll(async () => {
  broker = await startPrivateKafka();
  dataDir = await mkdtemp(join(tmpdir(), 'play-restart-data-'));
}, 180_000);

afterAll(async () => {
  for (const platform of running) {
    try {
      signalGroup(platform, 'SIGKILL');
    } catch {}
  }
  await broker?.remove();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
  s3Client.destroy();
}, 120_000);

describe('npm start in real mode, stopped by Ctrl-C, SIGKILL and a broker stop/start', () => {
  it('persists each event once and counts each play once in trending, after each', async (context) => {
    // 1. Ctrl-C: plays, then SIGINT to the group; it stops cleanly, committing what it processed.
    const first = await npmStart();
    const firstLoad = await runLoad({ url: first.balancer, durationS: 4, connections: 6 });
    expect(firstLoad.requests).toBeGreaterThan(0);
    await expectEachEventCountedOnce(first, 'before Ctrl-C');
    signalGroup(first, 'SIGINT');
    expect(await first.exited, first.output()).toBe(0);
    expect(first.output()).toContain('stopped (');

    // After a clean stop the restarted processor reads nothing again: its partition is restored
    // from the checkpoint (shown on the dashboard) and nothing is consumed before new plays.
    const second = await npmStart();
    await consumerStarted(second);
    expect.soft((await snapshotOf(second)).events.pipeline?.consumed, 'consumed again after Ctrl-C').toBe(0);
    await expectEachEventCountedOnce(second, 'after Ctrl-C');

    // 2. SIGKILL mid-way: the group killed under load, with progress and window state not yet checkpointed.
    const killedLoad = runLoad({ url: second.balancer, durationS: 6, connections: 6 });
    await sleep(3000);
    signalGroup(second, 'SIGKILL');
    await second.exited;
    await killedLoad;
    const third = await npmStart();
    await expectEachEventCountedOnce(third, 'after SIGKILL');
    // Replayed after the kill: what came after the last checkpoint (at most one commit interval).
    const replayed = (await snapshotOf(third)).events.pipeline?.consumed ?? 0;
    await context.annotate(`after SIGKILL: ${replayed} of ${topicRecords().length} events consumed again`);

    // 3. The broker stopped and started from the dashboard's chaos controls, under load.
    const load = runLoad({ url: third.balancer, durationS: 10, connections: 4 });
    await sleep(2000);
    await chaos(third, 'broker/stop');
    expect((await snapshotOf(third)).chaos.broker.stopped).toBe(true);
    await sleep(3000);
    await chaos(third, 'broker/start');
    const during = await load;
    expect(during.requests).toBeGreaterThan(0);
    await expectEachEventCountedOnce(third, 'after the broker stop/start');
    signalGroup(third, 'SIGINT');
    expect(await third.exited, third.output()).toBe(0);

    // The checkpoints that failed while the broker was away were retried: a restart reads nothing again.
    const fourth = await npmStart();
    await consumerStarted(fourth);
    expect.soft((await snapshotOf(fourth)).events.pipeline?.consumed, 'consumed again after the outage').toBe(0);
    await expectEachEventCountedOnce(fourth, 'restarted after the broker stop/start');
    signalGroup(fourth, 'SIGINT');
    expect(await fourth.exited, fourth.output()).toBe(0);
  }, 900_000);
});
