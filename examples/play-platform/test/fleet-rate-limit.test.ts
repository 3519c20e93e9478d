import { get as httpGet } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serviceEnv } from '../../../scripts/test-env.js';
import { fleetEdge } from '../src/admin/fleet-edge.ts';
import type { DashboardSnapshot } from '../src/admin/snapshot.ts';
import { tokenFor } from '../src/edge/demo-users.ts';
import { type GatewayFleet, startGatewayFleet } from '../src/edge/gateway-fleet.ts';
import { type PlatformCore, startCore } from '../src/platform.ts';

const { redisUrl } = serviceEnv();

/** One request on a connection of its own, so the L4 load balancer spreads them over the gateways. */
function browse(url: string, token: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpGet(`${url}/browse`, { agent: false, headers: { authorization: `Bearer ${token}` } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
  });
}

/** Two unsupervised gateway processes in front of `core`, sharing their rate limits in `redisUrl`. */
function twoGateways(
  core: PlatformCore,
  edge: { rateLimit: { capacity: number; refillPerSecond: number }; redisUrl: string; redisKeyPrefix?: string },
): Promise<GatewayFleet> {
  return startGatewayFleet({
    count: 2,
    port: 0,
    playApi: core.playApiUrls.v1,
    playApiCanary: core.playApiUrls.v2,
    canaryPercent: 0,
    supervise: false,
    ...edge,
  });
}

// BACKLOT_REDIS=off: no Redis is started, and the platform keeps per-gateway limits (this test is skipped).
describe.skipIf(process.env.BACKLOT_REDIS === 'off')('real mode: the gateways share their rate limits in Redis', () => {
  let core: PlatformCore;
  let fleet: GatewayFleet;
  const capacity = 6;

  beforeAll(async () => {
    core = await startCore();
    fleet = await twoGateways(core, {
      // A burst of 6 and (almost) no refill: what the fleet allows is exactly the burst.
      rateLimit: { capacity, refillPerSecond: 0.001 },
      redisUrl,
      redisKeyPrefix: `play-test:${process.pid}:${Date.now()}:`,
    });
  });
  afterAll(async () => {
    await fleet?.close();
    await core?.close();
  });

  it('one limit for the fleet: two gateways together allow the burst once, not once each', async () => {
    const token = await tokenFor('p-ada');
    const accepted = fleet.backends.map((b) => b.accepted);
    const statuses: number[] = [];
    for (let i = 0; i < 4 * capacity; i++) statuses.push(await browse(fleet.url, token));
    // Both gateways answered (the load balancer spread the connections) …
    expect(fleet.backends.map((b, i) => b.accepted - (accepted[i] ?? 0)).every((n) => n > 0)).toBe(true);
    // … and together they allowed the burst once: per-process buckets would have allowed 2 × 6.
    expect(statuses.filter((s) => s === 200)).toHaveLength(capacity);
    expect(statuses.filter((s) => s === 429)).toHaveLength(3 * capacity);
  });
});

describe("a fleet whose Redis is down: the dashboard shows the rate limits' fallbacks", () => {
  let core: PlatformCore;
  let fleet: GatewayFleet;

  beforeAll(async () => {
    core = await startCore();
    fleet = await twoGateways(core, {
      rateLimit: { capacity: 1000, refillPerSecond: 1000 },
      redisUrl: 'redis://127.0.0.1:20401', // nothing listens there: every take fails, the routes fail open
    });
    core.admin?.setEdge(fleetEdge(fleet));
  });
  afterAll(async () => {
    await fleet?.close();
    await core?.close();
  });

  it('counts the requests let through (failOpen) per route and the store errors, summed over the gateways', async () => {
    const admin = core.admin;
    if (!admin) throw new Error('the core started no admin listener');
    const token = await tokenFor('p-ada');
    const accepted = fleet.backends.map((b) => b.accepted);
    const requests = 12;
    for (let i = 0; i < requests; i++) expect(await browse(fleet.url, token)).toBe(200);
    expect(fleet.backends.map((b, i) => b.accepted - (accepted[i] ?? 0)).every((n) => n > 0)).toBe(true);
    const snapshot = async () => (await (await fetch(`${admin.url}/api/snapshot`)).json()) as DashboardSnapshot;
    const first = await snapshot();
    const browseRoute = first.gateway.routes.find((r) => r.route === 'browse');
    expect(browseRoute?.rateLimitFallbacks).toEqual({ failOpen: requests, failClosed: 0 });
    // The load balancer's health checks (route `health`, no rate limit) fall back on nothing.
    const others = first.gateway.routes.filter((r) => r.route !== 'browse');
    expect(others.map((r) => r.rateLimitFallbacks.failOpen + r.rateLimitFallbacks.failClosed)).toEqual(
      others.map(() => 0),
    );
    // At least one failed call per gateway (after one, each leaves the store alone for a while).
    expect(first.gateway.rateLimitStoreErrors).toBeGreaterThanOrEqual(2);
    expect(first.gateway.rateLimitStoreErrors).toBeLessThanOrEqual(requests);
    // Totals since start never fall between snapshots.
    const again = await snapshot();
    expect(again.gateway.routes.find((r) => r.route === 'browse')?.rateLimitFallbacks.failOpen).toBe(requests);
    expect(again.gateway.rateLimitStoreErrors).toBeGreaterThanOrEqual(first.gateway.rateLimitStoreErrors);
  });
});
