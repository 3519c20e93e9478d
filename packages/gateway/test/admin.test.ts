import { describe, expect, it } from 'vitest';
import { get, named, startGateway, startOrigin } from './helpers.js';

describe('admin listener and metrics', () => {
  it('serves /health, /ready, /metrics, /routes and the Hystrix stream with its token', async () => {
    const api = await startOrigin(named('a'));
    const token = 'admin-token-0123456789';
    const [gateway, base] = await startGateway({
      admin: { enabled: true, port: 0, token },
      origins: { api: { servers: [api] } },
      routes: [{ id: 'api', pathPrefix: '/api', origin: 'api' }],
    });
    const admin = await gateway.listenAdmin({ port: 0 });
    const url = `http://127.0.0.1:${admin.port}`;
    const auth = { headers: { authorization: `Bearer ${token}` } };
    await get(`${base}/api/x`);
    await get(`${base}/nothing`);
    expect(JSON.parse((await get(`${url}/health`, auth)).text)).toEqual({ status: 'ok' });
    expect((await get(`${url}/ready`, auth)).status).toBe(200);
    const scraped = await get(`${url}/metrics`, auth);
    expect(scraped.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const metrics = scraped.text;
    expect(metrics).toContain('backlot_gateway_requests_total{route="api",status_class="2xx"} 1');
    expect(metrics).toContain('backlot_gateway_origin_requests_total{origin="api",status_class="2xx"} 1');
    expect(metrics).toContain('backlot_gateway_request_duration_seconds_count{route="api"} 1');
    expect(metrics).toContain('backlot_gateway_no_route_total 1');
    expect(metrics).toContain('backlot_command_calls_total{command="gateway.origin.api"'); // the origin's command
    expect(metrics).toMatch(/^process_cpu_user_seconds_total \d/m); // Node's default process metrics
    const open = await get(`${url}/metrics`, { headers: { ...auth.headers, accept: 'application/openmetrics-text' } });
    expect(open.headers.get('content-type')).toMatch(/^application\/openmetrics-text; version=1\.0\.0/);
    expect(open.text).toContain('# TYPE backlot_gateway_requests counter');
    expect(open.text.endsWith('# EOF\n')).toBe(true);
    expect(JSON.parse((await get(`${url}/routes`, auth)).text)).toEqual([
      { id: 'api', priority: 0, path: '/api', origins: ['api'] },
    ]);
    const controller = new AbortController();
    const stream = await fetch(`${url}/hystrix.stream`, { ...auth, signal: controller.signal });
    expect(stream.headers.get('content-type')).toMatch(/text\/event-stream/);
    const chunk = await stream.body?.getReader().read();
    expect(new TextDecoder().decode(chunk?.value)).toContain('HystrixCommand');
    controller.abort();
  });

  it('writes a sampled pino-compatible access log, always logging 5xx', async () => {
    const api = await startOrigin(named('a'));
    const lines: Record<string, unknown>[] = [];
    const logger = { info: (o: object) => lines.push(o as Record<string, unknown>), warn() {}, error() {} };
    const [, base] = await startGateway(
      {
        accessLog: { sampleRate: 0 },
        trustedProxies: { cidrs: ['127.0.0.1'] }, // the request id of a trusted hop is kept
        routes: [
          { id: 'api', pathPrefix: '/api', origin: api },
          { id: 'down', pathPrefix: '/down', origin: 'http://127.0.0.1:9' },
        ],
      },
      { logger },
    );
    await get(`${base}/api`);
    await get(`${base}/down`, { headers: { 'x-request-id': 'log-me', 'x-forwarded-for': '10.0.0.1' } });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      requestId: 'log-me',
      status: 502,
      route: 'down',
      method: 'GET',
      path: '/down',
      error: { code: 'BACKLOT_GATEWAY_ORIGIN_ERROR', fault: 'origin' },
    });
    // The detail clients never see is in the log.
    expect(JSON.stringify(lines[0])).toMatch(/ECONNREFUSED 127\.0\.0\.1:9/);
  });
});
