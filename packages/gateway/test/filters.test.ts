import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { defineFilter, type GatewayContext, isGatewayError } from '../src/index.js';
import { echo, get, startGateway, startOrigin } from './helpers.js';

const SECRET = 'a-test-secret-that-is-long-enough-for-hs256';
const sign = (sub: string, secret = SECRET) =>
  new SignJWT({ role: 'viewer' })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(sub)
    .setIssuer('backlot-test')
    .setExpirationTime('5m')
    .sign(new TextEncoder().encode(secret));

describe('filters', () => {
  it('refuses a filter with an unknown phase at definition time', () => {
    const bad = { name: 'x', phase: 'pre', run() {} } as unknown as Parameters<typeof defineFilter>[0];
    let caught: unknown;
    try {
      defineFilter(bad);
    } catch (error) {
      caught = error;
    }
    expect(isGatewayError(caught)).toBe(true);
    expect((caught as Error).message).toMatch(/phase must be one of 'inbound', 'endpoint', 'outbound' \(got 'pre'\)/);
    expect((caught as { code: string }).code).toBe('BACKLOT_GATEWAY_INVALID_FILTER');
  });

  it('runs typed filters by phase and order, sync and async, per route', async () => {
    const api = await startOrigin(echo);
    const calls: string[] = [];
    const [, base] = await startGateway(
      { routes: [{ id: 'api', pathPrefix: '/', origin: api }] },
      {
        filters: [
          defineFilter({
            name: 'second',
            phase: 'inbound',
            order: 2,
            async run(ctx: GatewayContext) {
              await new Promise((resolve) => setTimeout(resolve, 1));
              calls.push('second');
              ctx.upstreamHeaders['x-added'] = `${ctx.route?.id}`;
            },
          }),
          defineFilter({ name: 'first', phase: 'inbound', order: 1, run: () => void calls.push('first') }),
          defineFilter({
            name: 'out',
            phase: 'outbound',
            run(ctx) {
              calls.push('out');
              if (ctx.response) ctx.response.headers['x-out'] = String(ctx.response.status);
            },
          }),
          defineFilter({
            name: 'other-route',
            phase: 'inbound',
            routes: ['nope'],
            run: () => void calls.push('never'),
          }),
        ],
      },
    );
    const response = await get(`${base}/x`);
    expect(JSON.parse(response.text).headers['x-added']).toBe('api');
    expect(response.headers.get('x-out')).toBe('200');
    expect(calls).toEqual(['first', 'second', 'out']);
  });

  it('propagates a request id and W3C traceparent', async () => {
    const api = await startOrigin(echo);
    const [, base] = await startGateway({
      filters: [{ type: 'requestId' }],
      routes: [{ id: 'api', pathPrefix: '/', origin: api }],
    });
    const fresh = await get(`${base}/x`);
    const seen = JSON.parse(fresh.text).headers as Record<string, string>;
    expect(seen['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(fresh.headers.get('x-request-id')).toBe(seen['x-request-id']);
    expect(seen.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);

    const parent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const continued = JSON.parse(
      (await get(`${base}/x`, { headers: { traceparent: parent, 'x-request-id': 'abc' } })).text,
    ).headers as Record<string, string>;
    // A client's own request id is not trusted (Envoy's rule): a new one is sent.
    expect(continued['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(continued.traceparent).toMatch(/^00-4bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]{16}-01$/);
    expect(continued.traceparent).not.toBe(parent);
  });

  it('adds and removes request and response headers', async () => {
    const api = await startOrigin((req, res) => {
      res.setHeader('x-powered-by', 'origin');
      echo(req, res);
    });
    const [, base] = await startGateway({
      routes: [
        {
          id: 'api',
          pathPrefix: '/',
          origin: api,
          filters: [
            {
              type: 'headers',
              request: { set: { 'X-Env': 'prod' }, remove: ['x-secret'] },
              response: { set: { 'x-frame-options': 'DENY' }, remove: ['x-powered-by'] },
            },
          ],
        },
      ],
    });
    const response = await get(`${base}/x`, { headers: { 'x-secret': 's' } });
    const seen = JSON.parse(response.text).headers as Record<string, string>;
    expect(seen['x-env']).toBe('prod');
    expect(seen['x-secret']).toBeUndefined();
    expect(response.headers.get('x-frame-options')).toBe('DENY');
    expect(response.headers.get('x-powered-by')).toBeNull();
  });

  it('answers CORS preflights and tags allowed origins', async () => {
    const api = await startOrigin(echo);
    const [, base] = await startGateway({
      filters: [{ type: 'cors', origins: ['https://app.example'], headers: ['authorization'] }],
      routes: [{ id: 'api', pathPrefix: '/', origin: api }],
    });
    const preflight = await fetch(`${base}/x`, {
      method: 'OPTIONS',
      headers: { origin: 'https://app.example', 'access-control-request-method': 'POST' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('https://app.example');
    expect(preflight.headers.get('access-control-allow-headers')).toBe('authorization');
    const denied = await fetch(`${base}/x`, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
    });
    expect(denied.status).toBe(403);
    const simple = await fetch(`${base}/x`, { headers: { origin: 'https://app.example' } });
    expect(simple.headers.get('access-control-allow-origin')).toBe('https://app.example');
    expect(simple.headers.get('vary')).toContain('Origin');
  });

  it('verifies JWTs with jose and rate-limits per JWT subject', async () => {
    const api = await startOrigin(echo);
    const [, base] = await startGateway({
      routes: [
        {
          id: 'api',
          pathPrefix: '/',
          origin: api,
          filters: [
            { type: 'jwt', secret: SECRET, issuer: 'backlot-test' },
            { type: 'rateLimit', key: 'jwtSubject', capacity: 2, refillPerSecond: 0.001 },
          ],
        },
      ],
    });
    const missing = await get(`${base}/x`);
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(JSON.parse(missing.text)).toMatchObject({ error: 'unauthorized' });
    const forged = await get(`${base}/x`, {
      headers: { authorization: `Bearer ${await sign('eve', `${SECRET}-other`)}` },
    });
    expect(forged.status).toBe(401);

    const alice = { authorization: `Bearer ${await sign('alice')}` };
    expect((await get(`${base}/x`, { headers: alice })).status).toBe(200);
    expect((await get(`${base}/x`, { headers: alice })).status).toBe(200);
    const limited = await get(`${base}/x`, { headers: alice });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    // another subject has its own bucket
    expect((await get(`${base}/x`, { headers: { authorization: `Bearer ${await sign('bob')}` } })).status).toBe(200);
  });

  it('checks API keys and never forwards them', async () => {
    const api = await startOrigin(echo);
    const key = 'k-0123456789abcdef';
    const [, base] = await startGateway({
      filters: [{ type: 'apiKey', keys: [key] }],
      routes: [{ id: 'api', pathPrefix: '/', origin: api }],
    });
    expect((await get(`${base}/x`)).status).toBe(401);
    expect((await get(`${base}/x`, { headers: { 'x-api-key': 'k-wrong-wrong-wrong' } })).status).toBe(403);
    const ok = await get(`${base}/x`, { headers: { 'x-api-key': key } });
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.text).headers['x-api-key']).toBeUndefined();
  });

  it('rate-limits per client IP with a token bucket', async () => {
    const api = await startOrigin(echo);
    const [, base] = await startGateway({
      filters: [{ type: 'rateLimit', capacity: 3, refillPerSecond: 0.001 }],
      routes: [{ id: 'api', pathPrefix: '/', origin: api }],
    });
    const statuses = [];
    for (let i = 0; i < 5; i++) statuses.push((await get(`${base}/x`)).status);
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
  });

  it('serves static responses from an endpoint filter and limits bodies', async () => {
    const api = await startOrigin(echo);
    const [, base] = await startGateway({
      routes: [
        {
          id: 'robots',
          path: '/robots.txt',
          filters: [{ type: 'static', headers: { 'Content-Type': 'text/plain' }, body: 'User-agent: *\nDisallow: /' }],
        },
        { id: 'api', pathPrefix: '/', origin: api, filters: [{ type: 'bodyLimit', maxBytes: 10 }] },
      ],
    });
    const robots = await get(`${base}/robots.txt`);
    expect(robots.status).toBe(200);
    expect(robots.headers.get('content-type')).toBe('text/plain');
    expect(robots.text).toBe('User-agent: *\nDisallow: /');
    expect((await get(`${base}/x`, { method: 'POST', body: 'small' })).status).toBe(200);
    const big = await get(`${base}/x`, { method: 'POST', body: 'x'.repeat(11) });
    expect(big.status).toBe(413);
    expect(JSON.parse(big.text).error).toBe('body_too_large');
  });

  it('transforms buffered response bodies on opted-in routes, with a size cap', async () => {
    const api = await startOrigin((_req, res) => res.end(JSON.stringify({ title: 'Dune' })));
    const huge = await startOrigin((_req, res) => res.end('x'.repeat(5000)));
    const [, base] = await startGateway(
      {
        routes: [
          { id: 'transform', pathPrefix: '/t', origin: api, bufferResponse: { maxBytes: 1000 } },
          { id: 'huge', pathPrefix: '/h', origin: huge, bufferResponse: { maxBytes: 1000 } },
        ],
      },
      {
        filters: [
          defineFilter({
            name: 'wrap',
            phase: 'outbound',
            routes: ['transform', 'huge'],
            run(ctx) {
              if (ctx.responseBody)
                ctx.responseBody = Buffer.from(JSON.stringify({ data: JSON.parse(String(ctx.responseBody)) }));
            },
          }),
        ],
      },
    );
    const response = await get(`${base}/t`);
    expect(JSON.parse(response.text)).toEqual({ data: { title: 'Dune' } });
    expect(response.headers.get('content-length')).toBe(String(response.text.length));
    const tooBig = await get(`${base}/h`);
    expect(tooBig.status).toBe(502);
    expect(JSON.parse(tooBig.text).error).toBe('response_too_large');
  });
});
