import { randomUUID } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serviceEnv } from '../../../scripts/test-env.ts';
import { runLoad } from '../src/cli/load-generator.ts';
import { type Platform, startPlatform } from '../src/platform.ts';

// The dashboard in a real browser: Debian's chromium, headless, driven by playwright-core.
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const resultsDir = fileURLToPath(new URL('../test-results/', import.meta.url));
const committedScreenshot = fileURLToPath(new URL('../docs/dashboard.png', import.meta.url));

let platform: Platform;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  platform = await startPlatform({
    canaryPercent: 0,
    // A short sleep window: the circuit tries again 1 s after opening, so the test sees it close.
    circuitBreaker: { sleepWindowMs: 1000 },
    // Small event-time windows: trending appears within the test.
    trendingWindow: { sizeMs: 2000, advanceMs: 1000, allowedLatenessMs: 0 },
  });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  page = await browser.newPage({ viewport: { width: 1440, height: 1100 } });
});
afterAll(async () => {
  await browser?.close();
  await platform?.close();
});

const text = async (selector: string) => (await page.locator(selector).first().textContent())?.trim() ?? '';
const steeringCard = () => page.locator('.card[data-api="v1"][data-key="steering.steer"]');

describe('the dashboard in headless Chromium', () => {
  it('shows live numbers that change under load, and a chaos button opens a circuit that closes after heal', async (context) => {
    const admin = platform.admin;
    if (!admin) throw new Error('the platform started no admin listener');
    await page.goto(`${admin.url}/`);
    await expect.poll(() => page.title()).toContain('Play platform');
    // Live: the stream connected and the page draws snapshots.
    await expect.poll(() => page.locator('#dot.on').count(), { timeout: 5000 }).toBe(1);
    await expect.poll(() => text('#updated')).toMatch(/^updated /);

    // Load through the gateway: the route's counts and the command cards move.
    const load = runLoad({ url: platform.url, durationS: 9, connections: 6 });
    await expect
      .poll(async () => Number(await text('tr[data-route="play"] td:nth-child(3)')), { timeout: 5000, interval: 200 })
      .toBeGreaterThan(0);
    const first = Number(await text('tr[data-route="play"] td:nth-child(3)'));
    await expect
      .poll(async () => Number(await text('tr[data-route="play"] td:nth-child(3)')), { timeout: 5000, interval: 200 })
      .toBeGreaterThan(first);
    await expect
      .poll(async () => Number(await text('tr[data-route="play"] td.rps')), { timeout: 5000, interval: 200 })
      .toBeGreaterThan(0);
    await expect.poll(async () => Number(await text('#consumed')), { timeout: 5000, interval: 200 }).toBeGreaterThan(0);
    expect(await steeringCard().getAttribute('data-circuit')).toBe('closed');

    // Chaos: steering goes down from the dashboard, its circuit opens, fallbacks serve.
    await page.locator('button[data-action="down"][data-service="steering"]').click();
    await expect
      .poll(() => text('tr[data-service="steering"] td.state'), { timeout: 3000, interval: 100 })
      .toBe('down');
    await expect.poll(() => steeringCard().getAttribute('data-circuit'), { timeout: 8000, interval: 100 }).toBe('open');
    await expect.poll(() => steeringCard().locator('.circuit').textContent()).toBe('Open');
    // Let the stream processor's trending appear, then keep a picture of the open circuit.
    await expect
      .poll(() => page.locator('#trending li:not(.muted)').count(), { timeout: 5000, interval: 200 })
      .toBeGreaterThan(0);
    await page.waitForTimeout(600); // one more frame of the stream, for the picture
    const png = await page.screenshot({ fullPage: true });
    await mkdir(resultsDir, { recursive: true });
    await writeFile(`${resultsDir}dashboard.png`, png);
    if (process.env.UPDATE_SCREENSHOT === '1') {
      await mkdir(fileURLToPath(new URL('../docs/', import.meta.url)), { recursive: true });
      await writeFile(committedScreenshot, png);
    }
    await context.annotate('the dashboard with the steering circuit open', { contentType: 'image/png', body: png });

    // Heal: after the sleep window a trial call succeeds and the circuit closes again.
    await page.locator('button[data-action="heal"][data-service="steering"]').click();
    await expect
      .poll(() => text('tr[data-service="steering"] td.state'), { timeout: 3000, interval: 100 })
      .toBe('healthy');
    await expect
      .poll(() => steeringCard().getAttribute('data-circuit'), { timeout: 8000, interval: 100 })
      .toBe('closed');

    const summary = await load;
    // Steering's fallback (the default CDN list) served while it was down: no request failed.
    expect(summary.errorRate).toBe(0);
    expect(Object.keys(summary.fallbacks).some((kind) => kind.startsWith('steering'))).toBe(true);
  });
});

describe('the dashboard in real mode: the stream state per partition', () => {
  let real: Platform;
  let realPage: Page;
  const topic = `play-events-dash-${randomUUID().slice(0, 8)}`;

  beforeAll(async () => {
    const { kafkaBrokers, s3 } = serviceEnv();
    real = await startPlatform({
      canaryPercent: 0,
      topic,
      topicPartitions: 2,
      kafkaBrokers,
      s3: {
        endpoint: s3.endpoint,
        bucket: `play-dash-${randomUUID().slice(0, 8)}`,
        region: s3.region,
        accessKeyId: s3.accessKeyId,
        secretAccessKey: s3.secretAccessKey,
      },
      trendingWindow: { sizeMs: 2000, advanceMs: 1000, allowedLatenessMs: 0 },
    });
    realPage = await browser.newPage({ viewport: { width: 1440, height: 1100 } });
  }, 120_000);
  afterAll(async () => {
    await realPage?.close();
    await real?.close();
  });

  const cell = async (partition: number, column: string) =>
    (await realPage.locator(`tr[data-partition="${topic}/${partition}"] td.${column}`).textContent())?.trim() ?? '';

  it('shows lag, state size, restore time and last checkpoint of each partition, as /metrics serves them', async () => {
    const admin = real.admin;
    if (!admin) throw new Error('the platform started no admin listener');
    await realPage.goto(`${admin.url}/`);
    // Both partitions of the events topic, restored from the changelog when assigned.
    await expect
      .poll(() => realPage.locator('#partitions tr[data-partition]').count(), { timeout: 30_000, interval: 200 })
      .toBe(2);
    await runLoad({ url: real.url, durationS: 3, connections: 4 });
    for (const partition of [0, 1]) {
      await expect.poll(() => cell(partition, 'checkpoint'), { timeout: 15_000, interval: 200 }).toMatch(/s ago/);
      await expect.poll(() => cell(partition, 'state-bytes'), { timeout: 15_000, interval: 200 }).toMatch(/[1-9]/);
      expect(await cell(partition, 'restore')).toMatch(/ms \(\d+ entries\)/);
      expect(await cell(partition, 'lag')).toMatch(/^(\d+|–)$/);
    }
    // The same figures from the snapshot the page draws, and from Prometheus.
    const { pipeline } = real.eventMetrics() as {
      pipeline: { partitions: { partition: number; stateBytes: number }[] };
    };
    expect(pipeline.partitions.map((p) => p.partition).sort()).toEqual([0, 1]);
    const response = await fetch(`${admin.url}/metrics`);
    expect(response.status).toBe(200);
    const text = await response.text();
    for (const family of [
      'backlot_pipeline_state_bytes',
      'backlot_pipeline_restore_seconds',
      'backlot_pipeline_last_checkpoint_timestamp_seconds',
      'backlot_pipeline_lag',
    ]) {
      for (const partition of [0, 1]) {
        expect(text).toMatch(
          new RegExp(
            `^${family}\\{pipeline="play-stream-processor[^"]*",topic="${topic}",partition="${partition}"\\} [0-9.e+-]+$`,
            'm',
          ),
        );
      }
    }
    const checkpointAt = Number(
      new RegExp(
        `^backlot_pipeline_last_checkpoint_timestamp_seconds\\{[^}]*topic="${topic}",partition="0"\\} (\\S+)$`,
        'm',
      ).exec(text)?.[1],
    );
    expect(checkpointAt).toBeGreaterThan(Date.now() / 1000 - 600);
    expect(checkpointAt).toBeLessThanOrEqual(Date.now() / 1000);
    await realPage.screenshot({ path: `${resultsDir}dashboard-state.png`, fullPage: true });
  }, 120_000);
});
