import { describe, expect, it } from 'vitest';
import { echo, get, httpRequest, named, startGateway, startOrigin } from './helpers.js';

describe('routing', () => {
  it('matches path params, host, method and headers, by priority then specificity', async () => {
    const a = await startOrigin(named('a'));
    const b = await startOrigin(named('b'));
    const c = await startOrigin(named('c'));
    const d = await startOrigin(named('d'));
    const [, base] = await startGateway({
      origins: { a: { servers: [a] }, b: { servers: [b] }, c: { servers: [c] }, d: { servers: [d] } },
      routes: [
        { id: 'catch-all', pathPrefix: '/', origin: 'a' },
        { id: 'title', path: '/titles/:id', methods: ['GET'], origin: 'b' },
        { id: 'beta', pathPrefix: '/titles', headers: { 'x-beta': '1' }, priority: 10, origin: 'c' },
        { id: 'host', pathPrefix: '/', host: '*.example.test', priority: 5, origin: 'd' },
      ],
    });
    expect((await get(`${base}/titles/42`)).text).toBe('b');
    expect((await get(`${base}/titles/42`, { method: 'POST' })).text).toBe('a');
    expect((await get(`${base}/titles/42/extra`)).text).toBe('a');
    expect((await get(`${base}/titles/42`, { headers: { 'x-beta': '1' } })).text).toBe('c');
    expect((await httpRequest(base, '/anything', { headers: { host: 'edge.example.test:8080' } })).text).toBe('d');
  });

  it('rewrites paths: strip or replace the prefix, regex rewrite, origin base path', async () => {
    const api = await startOrigin(echo);
    const [, base] = await startGateway({
      origins: { api: { servers: [`${api}/v2`] } },
      routes: [
        { id: 'strip', pathPrefix: '/strip', origin: 'api', stripPrefix: true },
        { id: 'prefix', pathPrefix: '/old', origin: 'api', rewrite: { prefix: '/new' } },
        {
          id: 'regex',
          pathPrefix: '/r',
          origin: 'api',
          rewrite: { regex: '^/r/(\\w+)$', replacement: '/items?name=$1' },
        },
      ],
    });
    const url = async (path: string) => (JSON.parse((await get(`${base}${path}`)).text) as { url: string }).url;
    expect(await url('/strip/a/b?q=1')).toBe('/v2/a/b?q=1');
    expect(await url('/old/x')).toBe('/v2/new/x');
    expect(await url('/r/abc')).toBe('/v2/items?name=abc');
  });

  it('splits traffic by weight for canary releases', async () => {
    const stable = await startOrigin(named('stable'));
    const canary = await startOrigin(named('canary'));
    const [gateway, base] = await startGateway({
      origins: { stable: { servers: [stable] }, canary: { servers: [canary] } },
      routes: [
        {
          id: 'play',
          pathPrefix: '/',
          splits: [
            { origin: 'stable', weight: 1 },
            { origin: 'canary', weight: 0 },
          ],
        },
      ],
    });
    for (let i = 0; i < 20; i++) expect((await get(`${base}/x`)).text).toBe('stable');
    gateway.reload({
      origins: { stable: { servers: [stable] }, canary: { servers: [canary] } },
      routes: [
        {
          id: 'play',
          pathPrefix: '/',
          splits: [
            { origin: 'stable', weight: 50 },
            { origin: 'canary', weight: 50 },
          ],
        },
      ],
    });
    const seen = new Set<string>();
    for (let i = 0; i < 100 && seen.size < 2; i++) seen.add((await get(`${base}/x`)).text);
    expect(seen).toEqual(new Set(['stable', 'canary']));
  });

  it('sends one user (cookie) or one device type (header) to the canary: surgical routing', async () => {
    const stable = await startOrigin(named('stable'));
    const canary = await startOrigin(named('canary'));
    const [, base] = await startGateway({
      origins: { stable: { servers: [stable] }, canary: { servers: [canary] } },
      routes: [
        {
          id: 'play',
          pathPrefix: '/',
          origin: 'stable',
          surgical: [
            { cookie: { name: 'user', value: 'alice' }, origin: 'canary' },
            { header: { name: 'x-device', value: 'tv' }, origin: 'canary' },
          ],
        },
      ],
    });
    expect((await get(`${base}/`)).text).toBe('stable');
    expect((await get(`${base}/`, { headers: { cookie: 'a=1; user=alice' } })).text).toBe('canary');
    expect((await get(`${base}/`, { headers: { cookie: 'user=bob' } })).text).toBe('stable');
    expect((await get(`${base}/`, { headers: { 'x-device': 'tv' } })).text).toBe('canary');
  });

  it('answers 404 with the request id when no route matches', async () => {
    const api = await startOrigin(echo);
    const [, base] = await startGateway({ routes: [{ id: 'api', pathPrefix: '/api', methods: ['GET'], origin: api }] });
    const response = await get(`${base}/api/x`, { method: 'DELETE', headers: { 'x-request-id': 'req-123' } });
    expect(response.status).toBe(404);
    const requestId = response.headers.get('x-request-id');
    expect(requestId).toMatch(/^[0-9a-f-]{36}$/); // a client's own id is not trusted
    expect(JSON.parse(response.text)).toEqual({ error: 'no_route', message: 'no route for DELETE /api/x', requestId });
  });
});
