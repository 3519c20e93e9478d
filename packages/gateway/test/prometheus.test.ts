import fc from 'fast-check';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { type ExpectedFamily, expectFamilies, parseExposition } from '../../metrics-core/test/prometheus-text.js';
import { createGateway, registerPrometheusMetrics } from '../src/index.js';
import { get, named, startGateway, startOrigin } from './helpers.js';

const FAMILIES: ExpectedFamily[] = [
  ['backlot_gateway_requests_total', 'counter', ['route', 'status_class']],
  ['backlot_gateway_request_duration_seconds', 'histogram', ['route']],
  ['backlot_gateway_inflight', 'gauge', []],
  ['backlot_gateway_route_inflight', 'gauge', ['route']],
  ['backlot_gateway_route_shed_total', 'counter', ['route']],
  ['backlot_gateway_origin_requests_total', 'counter', ['origin', 'status_class']],
  ['backlot_gateway_origin_request_duration_seconds', 'histogram', ['origin']],
  ['backlot_gateway_origin_inflight', 'gauge', ['origin']],
  ['backlot_gateway_origin_retries_total', 'counter', ['origin']],
  ['backlot_gateway_shed_total', 'counter', []],
  ['backlot_gateway_no_route_total', 'counter', []],
  ['backlot_gateway_rejected_total', 'counter', []],
  ['backlot_gateway_config_reloads_total', 'counter', []],
  ['backlot_gateway_config_reload_failures_total', 'counter', []],
  ['backlot_command_calls_total', 'counter', ['command', 'group', 'outcome']],
  ['backlot_command_duration_seconds', 'histogram', ['command', 'group']],
];

describe('registerPrometheusMetrics (gateway)', () => {
  it('registers the gateway and origin-command families, read from real traffic', async () => {
    const ok = await startOrigin(named('ok'));
    const failing = await startOrigin((req, res) => {
      req.resume();
      res.writeHead(500).end('boom');
    });
    const [gateway, base] = await startGateway({
      origins: { ok: { servers: [ok] }, failing: { servers: [failing], retry: { maxAttempts: 1 } } },
      routes: [
        { id: 'ok', pathPrefix: '/ok', origin: 'ok' },
        { id: 'failing', pathPrefix: '/failing', origin: 'failing' },
      ],
    });
    const registry = new Registry();
    const unregister = registerPrometheusMetrics(registry, { gateways: [gateway] });
    for (let i = 0; i < 3; i++) expect((await get(`${base}/ok/${i}`)).status).toBe(200);
    expect((await get(`${base}/failing`)).status).toBe(500);
    expect((await get(`${base}/nowhere`)).status).toBe(404);

    await expectFamilies(registry, FAMILIES);
    const { samples } = parseExposition(await registry.metrics());
    const value = (name: string, labels: Record<string, string> = {}) =>
      samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
    expect(value('backlot_gateway_requests_total', { route: 'ok', status_class: '2xx' })).toBe(3);
    expect(value('backlot_gateway_requests_total', { route: 'failing', status_class: '5xx' })).toBe(1);
    expect(value('backlot_gateway_request_duration_seconds_count', { route: 'ok' })).toBe(3);
    expect(value('backlot_gateway_request_duration_seconds_bucket', { route: 'ok', le: '+Inf' })).toBe(3);
    expect(value('backlot_gateway_origin_requests_total', { origin: 'ok', status_class: '2xx' })).toBe(3);
    expect(value('backlot_gateway_no_route_total')).toBe(1);
    expect(value('backlot_gateway_inflight')).toBe(0);
    expect(value('backlot_command_calls_total', { command: 'gateway.origin.ok', outcome: 'success' })).toBe(3);

    unregister();
    expect(await registry.getMetricsAsJSON()).toEqual([]);
  });

  it('sums several gateways, and a closed gateway leaves the families', async () => {
    const ok = await startOrigin(named('ok'));
    const config = { routes: [{ id: 'r', pathPrefix: '/', origin: ok }] };
    const [, first] = await startGateway(config);
    const second = createGateway(config);
    const { port } = await second.listen({ port: 0, host: '127.0.0.1' });
    const registry = new Registry();
    const unregister = registerPrometheusMetrics(registry, { commands: false });
    await get(`${first}/a`);
    await get(`http://127.0.0.1:${port}/b`);
    const count = async () =>
      parseExposition(await registry.metrics()).samples.find(
        (s) => s.name === 'backlot_gateway_requests_total' && s.labels.route === 'r',
      )?.value;
    expect(await count()).toBe(2);
    await second.close();
    expect(await count()).toBe(1);
    unregister();
  });

  it('escapes hostile route ids: every id round-trips through the exposition (property)', async () => {
    const ok = await startOrigin(named('ok'));
    const hostile = fc.stringMatching(/^[a-z"\\\n{},= ]{1,10}$/);
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(hostile, { minLength: 1, maxLength: 4 }), async (ids) => {
        const gateway = createGateway({
          routes: ids.map((id, i) => ({ id, path: `/r${i}`, origin: ok })),
        });
        try {
          const { port } = await gateway.listen({ port: 0, host: '127.0.0.1' });
          for (const [i] of ids.entries()) await get(`http://127.0.0.1:${port}/r${i}`);
          const registry = new Registry();
          const unregister = registerPrometheusMetrics(registry, { gateways: [gateway], commands: false });
          const seen = parseExposition(await registry.metrics())
            .samples.filter((s) => s.name === 'backlot_gateway_request_duration_seconds_count')
            .map((s) => s.labels.route);
          expect(seen.sort()).toEqual([...ids].sort());
          unregister();
        } finally {
          await gateway.close({ timeoutMs: 1000 });
        }
      }),
      { numRuns: 15 },
    );
  });
});
