import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runLoad } from '../src/cli/load-generator.ts';
import { type GatewayFleet, startGatewayFleet } from '../src/edge/gateway-fleet.ts';
import { type PlatformCore, startCore } from '../src/platform.ts';

let core: PlatformCore;
let fleet: GatewayFleet;

beforeAll(async () => {
  core = await startCore();
  fleet = await startGatewayFleet({
    count: 2,
    port: 0,
    playApi: core.playApiUrls.v1,
    playApiCanary: core.playApiUrls.v2,
    canaryPercent: 0,
    rateLimit: { capacity: 1_000_000, refillPerSecond: 1_000_000 },
  });
});
afterAll(async () => {
  await fleet?.close();
  await core?.close();
});

describe('the load balancer in front of two gateway processes', () => {
  it('spreads connections over both instances', async () => {
    const summary = await runLoad({ url: fleet.url, durationS: 1, connections: 8 });
    expect(summary.errorRate).toBe(0);
    expect(summary.requests).toBeGreaterThan(0);
    expect(fleet.backends.map((b) => b.accepted)).toEqual([4, 4]);
  });

  it('loses no request that had not reached a gateway instance killed under load', async () => {
    const connections = 16;
    const load = runLoad({ url: fleet.url, durationS: 4, connections });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const victim = fleet.instances[0];
    victim?.process.kill('SIGKILL');
    const summary = await load;

    // Only requests in flight on the killed instance can fail: at most one per connection it held.
    const failed = Math.round(summary.errorRate * summary.requests);
    expect(failed, JSON.stringify(summary.errors)).toBeLessThanOrEqual(connections);
    expect(summary.requests - failed).toBeGreaterThan(connections * 10);
    // Every failure is a connection cut mid-request, never an answer from the platform.
    for (const kind of Object.keys(summary.errors)) expect(kind).toMatch(/^network /);
    // The supervisor replaced the dead instance (a new process), and the balancer sends it traffic again.
    await expect
      .poll(() => fleet.instances[0]?.pid !== victim?.pid && fleet.backends[0]?.healthy, { timeout: 30_000 })
      .toBe(true);
    expect(fleet.replacements).toBe(1);
    expect(fleet.instances[0]?.process.exitCode).toBeNull();
    const acceptedBefore = fleet.backends.map((b) => b.accepted);
    const after = await runLoad({ url: fleet.url, durationS: 1, connections: 8 });
    expect(after.errorRate).toBe(0);
    expect(fleet.backends.map((b, i) => b.accepted - (acceptedBefore[i] ?? 0))).toEqual([4, 4]);
  });
});
