import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createGateway, registerPrometheusMetrics } from '@backlot/gateway';
import fc from 'fast-check';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import {
  type CountersBySource,
  counterIncrease,
  parseRouteCounters,
  type RouteCounters,
  TrafficWindow,
} from '../src/admin/gateway-traffic.ts';

const counters = (ok: number, failed = 0): RouteCounters => ({
  byClass: { '2xx': ok, '5xx': failed },
  buckets: [
    [0.05, ok + failed],
    [Number.POSITIVE_INFINITY, ok + failed],
  ],
  inflight: 0,
  shed: 0,
});
const scrape = (bySource: Record<string, RouteCounters>): CountersBySource =>
  new Map(Object.entries(bySource).map(([source, c]) => [source, new Map([['play', c]])]));

describe('gateway traffic across process restarts', () => {
  it('counterIncrease is never negative, and is the difference when the counter grew', () => {
    fc.assert(
      fc.property(fc.option(fc.nat(), { nil: undefined }), fc.nat(), (before, now) => {
        const increase = counterIncrease(before, now);
        expect(increase).toBeGreaterThanOrEqual(0);
        if (before !== undefined && now >= before) expect(increase).toBe(now - before);
        if (before !== undefined && now < before) expect(increase).toBe(now); // a reset: counted from zero
      }),
    );
  });

  it('rates are never negative and totals never fall, whatever processes die, restart or appear', () => {
    // Each step, each of three gateway processes serves some requests, is killed (not scraped any
    // more), restarts (a new process counting from zero), or is replaced (a new name, as a new pid).
    const step = fc.array(
      fc.record({
        action: fc.constantFrom('serve', 'kill', 'restart', 'replace'),
        ok: fc.nat({ max: 50 }),
        failed: fc.nat({ max: 5 }),
      }),
      { minLength: 3, maxLength: 3 },
    );
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 40 }), (steps) => {
        const window = new TrafficWindow(3_000);
        const processes = [0, 1, 2].map((i) => ({ name: `gateway ${i}`, ok: 0, failed: 0, alive: true, born: 0 }));
        let served = 0;
        let previousTotal = 0;
        steps.forEach((actions, t) => {
          actions.forEach(({ action, ok, failed }, i) => {
            const p = processes[i] as (typeof processes)[number];
            if (action === 'kill') {
              p.alive = false;
              return;
            }
            if (action === 'restart' || action === 'replace' || !p.alive) {
              // The new process starts from zero; a restart that ends above the old count is undetectable
              // (as for Prometheus), so the model keeps restarts below it.
              const cap = action === 'restart' && p.ok + p.failed > 0 ? p.ok + p.failed - 1 : ok + failed;
              const newOk = Math.min(ok, cap);
              const newFailed = Math.min(failed, cap - newOk);
              if (action === 'replace' || !p.alive) p.name = `gateway ${i} (${t}-${p.born++})`;
              Object.assign(p, { ok: newOk, failed: newFailed, alive: true });
              served += newOk + newFailed;
              return;
            }
            p.ok += ok;
            p.failed += failed;
            served += ok + failed;
          });
          const alive = Object.fromEntries(
            processes.filter((p) => p.alive).map((p) => [p.name, counters(p.ok, p.failed)]),
          );
          const [route] = window.add(t * 1000, scrape(alive));
          if (!route) return;
          expect(route.rps).toBeGreaterThanOrEqual(0);
          expect(route.shedPerSecond).toBeGreaterThanOrEqual(0);
          expect(route.errorPercent).toBeGreaterThanOrEqual(0);
          expect(route.errorPercent).toBeLessThanOrEqual(100);
          const total = Object.values(route.total).reduce((a, b) => a + b, 0);
          expect(total).toBeGreaterThanOrEqual(previousTotal);
          previousTotal = total;
        });
        // Every request served is counted exactly once, across kills, restarts and replacements.
        expect(previousTotal).toBe(served);
      }),
    );
  });

  it('a killed gateway leaves the rate at what the survivor serves, not below zero (the reported −239 req/s)', () => {
    const window = new TrafficWindow(10_000);
    window.add(0, scrape({ a: counters(1000, 10), b: counters(1000, 10) }));
    const [killed] = window.add(1000, scrape({ a: counters(1100, 10) }));
    expect(killed?.rps).toBe(100);
    expect(killed?.total).toEqual({ '2xx': 1100 + 1000, '5xx': 20 });
    const [replaced] = window.add(2000, scrape({ a: counters(1200, 10), c: counters(50) }));
    expect(replaced?.rps).toBe((100 + 150) / 2);
    expect(replaced?.total).toEqual({ '2xx': 1200 + 1000 + 50, '5xx': 20 });
  });
});

describe('parseRouteCounters on what a real gateway exposes', () => {
  it('reads requests by status class, the latency histogram and the in-flight gauge per route', async () => {
    const origin = createServer((request, response) => {
      response.statusCode = request.url === '/missing' ? 404 : 200;
      response.end('ok');
    });
    await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
    const { port: originPort } = origin.address() as AddressInfo;
    const gateway = createGateway({
      routes: [{ id: 'play', pathPrefix: '/', origin: `http://127.0.0.1:${originPort}` }],
    });
    const registry = new Registry();
    const unregister = registerPrometheusMetrics(registry, { gateways: [gateway], commands: false });
    try {
      const { port } = await gateway.listen({ port: 0, host: '127.0.0.1' });
      for (const path of ['/a', '/b', '/missing']) await (await fetch(`http://127.0.0.1:${port}${path}`)).text();
      const play = parseRouteCounters(await registry.metrics()).get('play');
      expect(play?.byClass).toMatchObject({ '2xx': 2, '4xx': 1 });
      expect(play?.buckets.at(-1)).toEqual([Number.POSITIVE_INFINITY, 3]);
      expect(play?.inflight).toBe(0);
    } finally {
      unregister();
      await gateway.close({ timeoutMs: 1000 });
      origin.close();
    }
  });
});
