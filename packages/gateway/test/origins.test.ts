import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { echo, gatewayMetric, get, named, startGateway, startOrigin, until } from './helpers.js';

/** A port with nothing listening on it. */
async function deadPort(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return `http://127.0.0.1:${port}`;
}

describe('origins', () => {
  it('balances round-robin and smooth-weighted', async () => {
    const a = await startOrigin(named('a'));
    const b = await startOrigin(named('b'));
    const [, base] = await startGateway({
      origins: {
        rr: { servers: [a, b] },
        w: {
          servers: [
            { url: a, weight: 3 },
            { url: b, weight: 1 },
          ],
          balancer: 'weighted',
        },
      },
      routes: [
        { id: 'rr', pathPrefix: '/rr', origin: 'rr' },
        { id: 'w', pathPrefix: '/w', origin: 'w' },
      ],
    });
    const rr = [];
    for (let i = 0; i < 4; i++) rr.push((await get(`${base}/rr`)).text);
    expect(rr).toEqual(['a', 'b', 'a', 'b']);
    const w = [];
    for (let i = 0; i < 8; i++) w.push((await get(`${base}/w`)).text);
    expect(w.filter((x) => x === 'a')).toHaveLength(6);
    expect(w.filter((x) => x === 'b')).toHaveLength(2);
  });

  it('prefers the server with fewer outstanding requests (power of two choices)', async () => {
    const release: (() => void)[] = [];
    const slow = await startOrigin((_req, res) => release.push(() => res.end('slow')));
    const fast = await startOrigin(named('fast'));
    const [, base] = await startGateway({
      origins: { p2c: { servers: [slow, fast], balancer: 'least-outstanding' } },
      routes: [{ id: 'p2c', pathPrefix: '/', origin: 'p2c' }],
    });
    const pending: Promise<unknown>[] = [];
    // occupy the slow server until one request is stuck there
    while (release.length === 0) {
      const text = get(`${base}/x`);
      pending.push(text);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const answers = [];
    for (let i = 0; i < 10; i++) answers.push((await get(`${base}/x`)).text);
    expect(answers.every((a) => a === 'fast')).toBe(true);
    for (const r of release) r();
    await Promise.all(pending);
  });

  it('retries connect errors on another server, including small POST bodies (buffered)', async () => {
    const dead = await deadPort();
    const live = await startOrigin(echo);
    const [gateway, base] = await startGateway({
      origins: { api: { servers: [dead, live], outlierDetection: { enabled: false } } },
      routes: [{ id: 'api', pathPrefix: '/', origin: 'api' }],
    });
    for (let i = 0; i < 4; i++) {
      const response = await get(`${base}/x`, { method: 'POST', body: `payload-${i}` });
      expect(response.status).toBe(200);
      expect(JSON.parse(response.text).body).toBe(`payload-${i}`);
    }
    expect(await gatewayMetric(gateway, 'backlot_gateway_origin_retries_total', { origin: 'api' })).toBeGreaterThan(0);
  });

  it('does not retry large streamed bodies, nor read timeouts of non-idempotent requests', async () => {
    const dead = await deadPort();
    let slowHits = 0;
    const slow = await startOrigin(() => {
      slowHits++;
    });
    const [, base] = await startGateway({
      origins: {
        api: { servers: [dead, dead], retry: { bufferBodyBytes: 16 }, outlierDetection: { enabled: false } },
        slow: { servers: [slow, slow], timeoutMs: 200 },
      },
      routes: [
        { id: 'api', pathPrefix: '/api', origin: 'api' },
        { id: 'slow', pathPrefix: '/slow', origin: 'slow' },
      ],
    });
    expect((await get(`${base}/api`, { method: 'POST', body: 'x'.repeat(100) })).status).toBe(502);
    expect((await get(`${base}/slow`, { method: 'POST', body: 'x' })).status).toBe(504);
    expect(slowHits).toBe(1);
    expect((await get(`${base}/slow`)).status).toBe(504);
    expect(slowHits).toBe(3); // GET read timeout: retried once
  });

  it('ejects a failing server (passive outlier detection) and checks health actively', async () => {
    let healthy = true;
    const flaky = await startOrigin((req, res) => {
      if (req.url === '/health') res.writeHead(healthy ? 200 : 500).end();
      else res.writeHead(503).end('flaky');
    });
    const good = await startOrigin(named('good'));
    const [, base] = await startGateway({
      origins: {
        api: {
          servers: [flaky, good],
          outlierDetection: { consecutiveErrors: 2, baseEjectionMs: 60_000 },
          retry: { maxAttempts: 1 },
        },
        checked: {
          servers: [flaky, good],
          healthCheck: { path: '/health', intervalMs: 100, unhealthyThreshold: 1, healthyThreshold: 1 },
          outlierDetection: { enabled: false },
        },
      },
      routes: [
        { id: 'api', pathPrefix: '/api', origin: 'api' },
        { id: 'checked', pathPrefix: '/checked', origin: 'checked' },
      ],
    });
    const first = [];
    for (let i = 0; i < 4; i++) first.push((await get(`${base}/api`)).text);
    expect(first.filter((t) => t === 'flaky')).toHaveLength(2);
    const after = [];
    for (let i = 0; i < 6; i++) after.push((await get(`${base}/api`)).text);
    expect(after.every((t) => t === 'good')).toBe(true);

    healthy = false;
    await new Promise((resolve) => setTimeout(resolve, 400));
    const checked = [];
    for (let i = 0; i < 6; i++) checked.push((await get(`${base}/checked`)).text);
    expect(checked.every((t) => t === 'good')).toBe(true);
  });

  it('opens the per-origin circuit breaker: 503 circuit_open with Retry-After, without calling the origin', async () => {
    const dead = await deadPort();
    const [, base] = await startGateway({
      origins: {
        api: {
          servers: [dead],
          retry: { maxAttempts: 1 },
          outlierDetection: { enabled: false },
          circuitBreaker: { requestVolumeThreshold: 3, sleepWindowMs: 60_000 },
        },
      },
      routes: [{ id: 'api', pathPrefix: '/', origin: 'api' }],
    });
    for (let i = 0; i < 3; i++) expect((await get(`${base}/x`)).status).toBe(502);
    const open = await get(`${base}/x`);
    expect(open.status).toBe(503);
    expect(JSON.parse(open.text).error).toBe('circuit_open');
    expect(open.headers.get('retry-after')).toBe('60');
  });

  it('sheds load over the adaptive concurrency limit with 503 + Retry-After, per origin and gateway-wide', async () => {
    const release: (() => void)[] = [];
    const hold = await startOrigin((_req, res) => release.push(() => res.end('done')));
    const [, base] = await startGateway({
      origins: {
        api: { servers: [hold], concurrencyLimit: { algorithm: 'aimd', initialLimit: 2, maxConcurrency: 2 } },
      },
      routes: [{ id: 'api', pathPrefix: '/', origin: 'api' }],
    });
    const held = [get(`${base}/a`), get(`${base}/b`)];
    await until(() => release.length === 2);
    const shed = await get(`${base}/c`);
    expect(shed.status).toBe(503);
    expect(JSON.parse(shed.text).error).toBe('overloaded');
    expect(shed.headers.get('retry-after')).toBe('1');
    for (const r of release.splice(0)) r();
    await Promise.all(held);

    const [, edge] = await startGateway({
      concurrencyLimit: { algorithm: 'aimd', initialLimit: 1, maxConcurrency: 1 },
      routes: [{ id: 'api', pathPrefix: '/', origin: hold }],
    });
    const one = get(`${edge}/a`);
    await until(() => release.length === 1);
    const refused = await get(`${edge}/b`);
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('1');
    for (const r of release.splice(0)) r();
    await one;
  });
});
