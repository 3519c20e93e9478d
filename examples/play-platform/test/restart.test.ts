import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { gunzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { serviceEnv } from '../../../scripts/test-env.js';
import { tokenFor } from '../src/edge/demo-users.ts';
import { type Platform, type PlatformOptions, startPlatform } from '../src/platform.ts';

const { kafkaBrokers, s3 } = serviceEnv();

/**
 * Real mode restarted on the same topic and bucket: the stream processor
 * resumes from its checkpoint (offsets and window state committed together),
 * so nothing it already processed is read again, and neither the raw events
 * nor the trending windows are counted twice.
 */
describe('the Play platform in real mode, stopped and started again', () => {
  const options: PlatformOptions = {
    topic: `play-events-${randomUUID().slice(0, 8)}`,
    kafkaBrokers,
    s3: {
      endpoint: s3.endpoint,
      bucket: `play-${randomUUID().slice(0, 8)}`,
      region: s3.region,
      accessKeyId: s3.accessKeyId,
      secretAccessKey: s3.secretAccessKey,
    },
    canaryPercent: 0,
    trendingWindow: { sizeMs: 1000, advanceMs: 500, allowedLatenessMs: 0 },
  };
  let platform: Platform | undefined;
  afterAll(async () => {
    await platform?.close();
  });

  /** One play; a 503 (shed while a loaded machine warms up) is tried again, a few times. */
  async function play(on: Platform, profileId: string, titleId: string) {
    let status = 0;
    for (let attempt = 0; attempt < 5 && status !== 200; attempt++) {
      if (attempt > 0) await sleep(250);
      const response = await fetch(`${on.url}/play`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${await tokenFor(profileId)}` },
        body: JSON.stringify({ profileId, titleId, device: 'tv' }),
      });
      status = response.status;
      await response.arrayBuffer();
      if (status !== 503) break;
    }
    expect(status).toBe(200);
  }

  async function linesUnder(on: Platform, prefix: string): Promise<Record<string, unknown>[]> {
    const lines: Record<string, unknown>[] = [];
    for await (const entry of on.store.list({ prefix })) {
      if (entry.type !== 'object') continue;
      const text = gunzipSync((await on.store.get(entry.key)).body)
        .toString('utf8')
        .trim();
      for (const line of text.split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
    }
    return lines;
  }

  it('persists each raw event once and each trending window once across the restart', async () => {
    const emitted: string[] = [];
    const first = await startPlatform(options);
    platform = first;
    for (const profileId of ['p-ada', 'p-bo', 'p-ada']) await play(first, profileId, '80100172');
    await sleep(1200); // event time moves past the first window
    await play(first, 'p-bo', '70264888');
    emitted.push(...first.events.map((e) => e.id));
    await expect
      .poll(async () => (await linesUnder(first, 'raw/')).length, { timeout: 20_000, interval: 250 })
      .toBe(emitted.length);
    await first.close();
    platform = undefined;

    const second = await startPlatform(options);
    platform = second;
    await sleep(1200);
    await play(second, 'p-ada', '70264888');
    await sleep(1200);
    await play(second, 'p-bo', '80100172');
    emitted.push(...second.events.map((e) => e.id));

    await expect
      .poll(async () => (await linesUnder(second, 'raw/')).length, { timeout: 20_000, interval: 250 })
      .toBe(emitted.length);
    // Nothing the first run processed is read again after a clean stop.
    await expect
      .poll(() => (second.eventMetrics().pipeline as { consumed: number }).consumed, { timeout: 20_000 })
      .toBe(second.events.length);
    const rawIds = (await linesUnder(second, 'raw/')).map((line) => line.id as string);
    expect(new Set(rawIds).size).toBe(rawIds.length);
    expect(new Set(rawIds)).toEqual(new Set(emitted));

    // Every trending window result once: (window, key) never written twice.
    await expect
      .poll(async () => (await linesUnder(second, 'output/trending/')).length, { timeout: 20_000 })
      .toBeGreaterThan(1);
    const windows = (await linesUnder(second, 'output/trending/')).map((line) =>
      JSON.stringify([line.key, line.start, line.end]),
    );
    expect(new Set(windows).size).toBe(windows.length);
    const firstWindowPlays = (await linesUnder(second, 'output/trending/'))
      .filter((line) => String(line.key).endsWith('/80100172'))
      .reduce((sum, line) => sum + Number(line.value), 0);
    expect(firstWindowPlays).toBeGreaterThanOrEqual(3);
  });
});
