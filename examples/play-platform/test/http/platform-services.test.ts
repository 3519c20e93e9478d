import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Platform, startPlatform } from '../../src/platform.ts';

const TOKEN = 'platform-chaos-token-0123456789';
let open: Platform;
let closed: Platform;

beforeAll(async () => {
  [open, closed] = await Promise.all([
    startPlatform({ admin: false, canaryPercent: 0, http: { chaosToken: TOKEN } }),
    startPlatform({ admin: false, canaryPercent: 0 }),
  ]);
});
afterAll(async () => {
  await Promise.all([open?.close(), closed?.close()]);
});

const everyUrl = (platform: Platform) => [
  ...Object.values(platform.services).map((service) => service.url),
  platform.playApiUrls.v1,
  platform.playApiUrls.v2,
];

describe("the platform's services over HTTP", () => {
  it('each is ready and serves a Prometheus scrape labelled with its name', async () => {
    for (const url of everyUrl(closed)) {
      expect((await fetch(`${url}/ready`)).status, url).toBe(200);
      const scrape = await (await fetch(`${url}/metrics`)).text();
      expect(scrape).toMatch(
        /http_requests_total\{method="GET",route="\/ready",status_class="2xx",service="[\w-]+"\} \d+/,
      );
    }
  });

  it('without CHAOS_TOKEN none has a chaos endpoint', async () => {
    for (const url of everyUrl(closed)) {
      const response = await fetch(`${url}/_chaos`, { headers: { 'x-chaos-token': TOKEN } });
      expect(response.status, url).toBe(404);
    }
  });

  it('with it, each takes chaos only from callers sending the token', async () => {
    for (const url of everyUrl(open)) {
      expect((await fetch(`${url}/_chaos`)).status, url).toBe(401);
      expect((await fetch(`${url}/_chaos`, { headers: { 'x-chaos-token': 'wrong' } })).status, url).toBe(403);
    }
    const steering = open.services.steering;
    const put = await fetch(`${steering.url}/_chaos`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', 'x-chaos-token': TOKEN },
      body: JSON.stringify({ latencyMs: 5 }),
    });
    expect(put.status).toBe(200);
    expect(steering.chaos.latencyMs).toBe(5);
    steering.chaos.latencyMs = 0;
  });
});
