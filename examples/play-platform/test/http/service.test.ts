import fc from 'fast-check';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createService, type Service, type ServiceOptions } from '../../src/http/service.ts';

const running: Service[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((service) => service.close()));
});

/** A service with one validated route, `POST /things/:id?verbose=…` `{ count, tags? }`, and one held open. */
async function start(options: Partial<ServiceOptions> = {}) {
  let release: () => void = () => {};
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  const entered: string[] = [];
  const service = createService({
    name: 'probe',
    config: { port: 0, logLevel: 'silent', ...options.config },
    ...(options.readiness ? { readiness: options.readiness } : {}),
    defaultMetrics: false,
    routes(app) {
      app.post(
        '/things/:id',
        {
          schema: {
            params: z.object({ id: z.string().regex(/^t-\d+$/, 'id must look like t-123') }),
            querystring: z.object({ verbose: z.enum(['yes', 'no']).default('no') }),
            body: z.object({ count: z.number().int().min(1), tags: z.array(z.string()).optional() }),
          },
        },
        async (req) => ({ id: req.params.id, count: req.body.count, verbose: req.query.verbose, body: req.body }),
      );
      app.get('/held', async () => {
        entered.push('held');
        await held;
        return { done: true };
      });
    },
  });
  running.push(service);
  const url = await service.listen();
  return { service, url, release, entered };
}

/** POSTs `body`; `contentType: null` sends none (undici's `request` adds none of its own). */
const post = async (url: string, body: string, contentType: string | null = 'application/json') => {
  if (contentType !== null) return fetch(url, { method: 'POST', headers: { 'content-type': contentType }, body });
  const { statusCode, body: answer } = await request(url, { method: 'POST', body });
  return new Response(await answer.text(), { status: statusCode });
};
const json = async (response: Response) => (await response.json()) as Record<string, unknown>;

describe('validated routes', () => {
  it('answers a valid request, and echoes the caller’s request id', async () => {
    const { url } = await start();
    const response = await fetch(`${url}/things/t-1?verbose=yes`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'req-7' },
      body: JSON.stringify({ count: 2 }),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-request-id')).toBe('req-7');
    expect(await json(response)).toMatchObject({ id: 't-1', count: 2, verbose: 'yes' });
    // Without one, the service assigns one.
    const other = await post(`${url}/things/t-1`, '{"count":1}');
    expect(other.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it.each([
    ['body', '/things/t-1', '{"count":0}', 'body.count'],
    ['nested body', '/things/t-1', '{"count":1,"tags":["a",2]}', 'body.tags.1'],
    ['params', '/things/x', '{"count":1}', 'params.id'],
    ['querystring', '/things/t-1?verbose=maybe', '{"count":1}', 'querystring.verbose'],
  ])('a bad %s is a 400 naming the field', async (_where, path, body, field) => {
    const { url } = await start();
    const response = await post(`${url}${path}`, body);
    expect(response.status).toBe(400);
    const answer = await json(response);
    expect(answer.error).toBe('bad_request');
    expect(answer.issues).toEqual([expect.objectContaining({ field })]);
    expect(answer.message).toContain(field);
    expect(answer.requestId).toBe(response.headers.get('x-request-id'));
  });

  it('answers an unknown route 404 with a code', async () => {
    const { url } = await start();
    const response = await fetch(`${url}/nowhere`);
    expect(response.status).toBe(404);
    expect((await json(response)).error).toBe('not_found');
  });
});

describe('hostile input', () => {
  it('refuses a body over the limit with 413', async () => {
    const { url } = await start({ config: { bodyLimitBytes: 1024 } });
    const response = await post(`${url}/things/t-1`, JSON.stringify({ count: 1, tags: ['x'.repeat(2000)] }));
    expect(response.status).toBe(413);
    expect((await json(response)).error).toBe('body_too_large');
  });

  it.each([['text/plain'], ['application/xml'], ['application/x-www-form-urlencoded'], [null]])(
    'refuses a %s body with 415',
    async (contentType) => {
      const { url } = await start();
      const response = await post(`${url}/things/t-1`, '{"count":1}', contentType);
      expect(response.status).toBe(415);
      expect((await json(response)).error).toBe('unsupported_media_type');
    },
  );

  it('refuses malformed JSON with 400', async () => {
    const { url } = await start();
    const response = await post(`${url}/things/t-1`, '{"count":');
    expect(response.status).toBe(400);
    expect((await json(response)).error).toBe('bad_request');
  });

  it.each([
    ['__proto__', '{"count":1,"__proto__":{"polluted":true}}'],
    ['nested __proto__', '{"count":1,"tags":[],"x":{"__proto__":{"polluted":true}}}'],
    ['constructor.prototype', '{"count":1,"constructor":{"prototype":{"polluted":true}}}'],
  ])('refuses a %s key with 400 and pollutes nothing', async (_name, body) => {
    const { url } = await start();
    const response = await post(`${url}/things/t-1`, body);
    expect(response.status).toBe(400);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('property: no JSON body, with prototype keys anywhere, pollutes Object.prototype or gets a 5xx', async () => {
    const { url } = await start();
    const poisoned = fc
      .tuple(fc.jsonValue(), fc.constantFrom('__proto__', 'constructor', 'prototype'), fc.jsonValue())
      .map(
        ([value, key, inner]) =>
          `{"count":1,"v":${JSON.stringify(value)},"${key}":{"polluted":${JSON.stringify(inner ?? null)}}}`,
      );
    await fc.assert(
      fc.asyncProperty(poisoned, async (body) => {
        const response = await post(`${url}/things/t-1`, body);
        await response.arrayBuffer();
        expect(response.status).toBeLessThan(500);
        expect(Object.hasOwn(Object.prototype, 'polluted')).toBe(false);
      }),
      { numRuns: 60 },
    );
  });
});

describe('health, readiness, metrics', () => {
  it('/health is liveness; /ready checks the dependencies', async () => {
    let reachable = true;
    const { url } = await start({
      readiness: [
        {
          name: 'store',
          check: async () => {
            if (!reachable) throw new Error('store unreachable');
          },
        },
      ],
    });
    expect((await fetch(`${url}/ready`)).status).toBe(200);
    reachable = false;
    const unready = await fetch(`${url}/ready`);
    expect(unready.status).toBe(503);
    expect(await json(unready)).toMatchObject({ status: 'unready', failed: { store: 'store unreachable' } });
    expect((await fetch(`${url}/health`)).status).toBe(200);
  });

  it('a dependency check that hangs makes /ready 503 at its deadline, not hang', async () => {
    const service = createService({
      name: 'probe',
      config: { port: 0, logLevel: 'silent' },
      defaultMetrics: false,
      readinessTimeoutMs: 50,
      readiness: [
        {
          name: 'hangs',
          check: (signal) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason))),
        },
      ],
      routes() {},
    });
    running.push(service);
    const response = await fetch(`${await service.listen()}/ready`);
    expect(response.status).toBe(503);
    expect(Object.keys((await json(response)).failed as object)).toEqual(['hangs']);
  });

  it('/metrics is a Prometheus scrape: requests by route and status class, durations, Node metrics', async () => {
    const service = createService({ name: 'scraped', config: { port: 0, logLevel: 'silent' }, routes() {} });
    running.push(service);
    const url = await service.listen();
    await fetch(`${url}/health`);
    await fetch(`${url}/nowhere/42`);
    const scrape = await fetch(`${url}/metrics`);
    expect(scrape.headers.get('content-type')).toContain('text/plain');
    const text = await scrape.text();
    expect(text).toContain('http_requests_total{method="GET",route="/health",status_class="2xx",service="scraped"} 1');
    expect(text).toContain(
      'http_requests_total{method="GET",route="unmatched",status_class="4xx",service="scraped"} 1',
    );
    expect(text).toMatch(
      /http_request_duration_seconds_bucket\{le="0.005",service="scraped",method="GET",route="\/health"/,
    );
    expect(text).toContain('nodejs_eventloop_lag_seconds');
    expect(text).toContain('process_cpu_user_seconds_total');
  });
});

describe('chaos over HTTP', () => {
  const putChaos = (url: string, body: unknown, token?: string) =>
    fetch(`${url}/_chaos`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', ...(token === undefined ? {} : { 'x-chaos-token': token }) },
      body: JSON.stringify(body),
    });

  it('does not exist without a chaos token (off by default)', async () => {
    const { url } = await start();
    expect((await putChaos(url, { down: true }, 'anything-long-enough')).status).toBe(404);
    expect((await fetch(`${url}/_chaos`)).status).toBe(404);
  });

  it('with a token: 401 without it, 403 with another, obeys the right one', async () => {
    const token = 's3cret-token-of-32-characters!!!';
    const { url, service } = await start({ config: { chaosToken: token } });
    expect((await putChaos(url, { down: true })).status).toBe(401);
    expect((await putChaos(url, { down: true }, `${token.slice(0, -1)}X`)).status).toBe(403);
    expect((await putChaos(url, { down: true }, 'short')).status).toBe(403);
    expect(service.chaos.down).toBe(false);
    expect((await putChaos(url, { down: 'yes' }, token)).status).toBe(400);
    expect((await putChaos(url, { down: true, extra: 1 }, token)).status).toBe(400);
    const accepted = await putChaos(url, { failureRate: 1 }, token);
    expect(accepted.status).toBe(200);
    expect((await json(accepted)).chaos).toEqual({ latencyMs: 0, failureRate: 1, down: false });
    const failed = await post(`${url}/things/t-1`, '{"count":1}');
    expect(failed.status).toBe(500);
    expect((await json(failed)).error).toBe('injected_failure');
    // Operational routes are never failed by chaos.
    expect((await fetch(`${url}/metrics`)).status).toBe(200);
    await putChaos(url, { down: true, failureRate: 0 }, token);
    expect((await fetch(`${url}/health`)).status).toBe(503);
    await expect(post(`${url}/things/t-1`, '{"count":1}')).rejects.toThrow();
  });
});

describe('graceful drain', () => {
  it('answers /ready 503 while it drains, finishes the in-flight request, then refuses connections', async () => {
    // Long enough for the checks below to land inside the delay on a busy machine.
    const { url, service, release, entered } = await start({ config: { drainDelayMs: 3000 } });
    const inFlight = request(`${url}/held`);
    await expect.poll(() => entered.length).toBe(1);
    const closed = service.close();
    expect(service.draining).toBe(true);
    // The delay: still serving, but telling the load balancer to stop sending.
    const ready = await fetch(`${url}/ready`);
    expect(ready.status).toBe(503);
    expect(await json(ready)).toMatchObject({ status: 'draining' });
    expect((await fetch(`${url}/health`)).status).toBe(200);
    release();
    const answer = await inFlight;
    expect(answer.statusCode).toBe(200);
    expect(await answer.body.json()).toEqual({ done: true });
    await closed;
    await expect(fetch(`${url}/health`)).rejects.toThrow();
  });

  it('cuts connections still busy at the drain deadline, and closes', async () => {
    const { url, service, entered } = await start({ config: { drainTimeoutMs: 100 } });
    const inFlight = request(`${url}/held`).catch((error: unknown) => error);
    await expect.poll(() => entered.length).toBe(1);
    await service.close();
    expect(await inFlight).toBeInstanceOf(Error);
    await expect(fetch(`${url}/health`)).rejects.toThrow();
  });

  it('without a delay: the in-flight request finishes, then the listener is gone', async () => {
    const { url, service, release, entered } = await start();
    const inFlight = request(`${url}/held`);
    await expect.poll(() => entered.length).toBe(1);
    const closed = service.close();
    release();
    expect((await inFlight).statusCode).toBe(200);
    await closed;
    await expect(fetch(`${url}/health`)).rejects.toThrow();
  });
});
