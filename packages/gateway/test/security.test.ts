import { describe, expect, it } from 'vitest';
import { echo, get, httpRequest, named, rawRequest, rawStatus, startGateway, startOrigin } from './helpers.js';

describe('security', () => {
  it('is not an open proxy: absolute-form targets and unknown hosts never leave the gateway', async () => {
    let hits = 0;
    const api = await startOrigin((req, res) => {
      hits++;
      echo(req, res);
    });
    const [, base] = await startGateway({ routes: [{ id: 'api', pathPrefix: '/api', origin: api }] });
    const absolute = await rawRequest(
      base,
      `GET ${api}/api/x HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`,
    );
    expect(rawStatus(absolute)).toBe(400);
    const connect = await rawRequest(base, 'CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: 127.0.0.1:22\r\n\r\n');
    expect([400, 0]).toContain(rawStatus(connect));
    expect(hits).toBe(0);
  });

  it('normalises paths so that dot segments and encodings cannot reach other routes', async () => {
    const publicApi = await startOrigin(echo);
    const admin = await startOrigin(named('admin'));
    const [, base] = await startGateway({
      routes: [
        { id: 'api', pathPrefix: '/api', origin: publicApi },
        {
          id: 'admin',
          pathPrefix: '/admin',
          origin: admin,
          filters: [{ type: 'apiKey', keys: ['admin-key-0123456789'] }],
        },
      ],
    });
    const send = (path: string) =>
      rawRequest(base, `GET ${path} HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n`).then((text) => ({
        status: rawStatus(text),
        body: text.slice(text.indexOf('\r\n\r\n') + 4),
      }));
    // resolved before routing: reaches /admin's own route (and its auth), never /api's origin
    expect((await send('/api/../admin')).status).toBe(401);
    expect((await send('/api/%2e%2e/admin')).status).toBe(401);
    expect((await send('/api/%2E%2E/admin/x')).status).toBe(401);
    // encoded slashes and backslashes are refused outright
    expect((await send('/api/..%2fadmin')).status).toBe(400);
    expect((await send('/api/..%5cadmin')).status).toBe(400);
    expect((await send('/api/..\\admin')).status).toBe(400);
    // what the origin sees is the normalised path
    const seen = await httpRequest(base, '/api/a/./b/../c');
    expect(JSON.parse(seen.text).url).toBe('/api/a/c');
    expect((await send('/../../api/x')).status).toBe(200);
  });

  it('rejects CRLF injection and request smuggling patterns', async () => {
    let hits = 0;
    const api = await startOrigin((req, res) => {
      hits++;
      echo(req, res);
    });
    const [, base] = await startGateway({ routes: [{ id: 'api', pathPrefix: '/', origin: api }] });
    const crlf = await rawRequest(base, 'GET / HTTP/1.1\r\nHost: gw\r\nX-A: a\rX-Injected: 1\r\n\r\n');
    expect(rawStatus(crlf)).toBe(400);
    const clte = await rawRequest(
      base,
      'POST / HTTP/1.1\r\nHost: gw\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: gw\r\n\r\n',
    );
    expect(rawStatus(clte)).toBe(400);
    expect(clte).not.toContain('/smuggled');
    const doubleLength = await rawRequest(
      base,
      'POST / HTTP/1.1\r\nHost: gw\r\nContent-Length: 1\r\nContent-Length: 5\r\n\r\nhello',
    );
    expect(rawStatus(doubleLength)).toBe(400);
    const obfuscatedTe = await rawRequest(
      base,
      'POST / HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n',
    );
    expect(rawStatus(obfuscatedTe)).toBe(400);
    expect(hits).toBe(0);
  });

  it('answers 431 to oversized headers and 413 to oversized bodies', async () => {
    const api = await startOrigin(echo);
    const [, base] = await startGateway({
      server: { maxHeaderSize: 4096, maxBodyBytes: 1024 },
      routes: [{ id: 'api', pathPrefix: '/', origin: api }],
    });
    const huge = await rawRequest(base, `GET / HTTP/1.1\r\nHost: gw\r\nX-Big: ${'a'.repeat(8000)}\r\n\r\n`);
    expect(rawStatus(huge)).toBe(431);
    const declared = await httpRequest(base, '/', { method: 'POST', body: 'x'.repeat(2000) });
    expect(declared.status).toBe(413);
    const chunked = await rawRequest(
      base,
      `POST / HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n\r\n800\r\n${'x'.repeat(2048)}\r\n0\r\n\r\n`,
    );
    expect(rawStatus(chunked)).toBe(413);
  });

  it('never lets a spoofed X-Forwarded-For reach an origin as the client IP', async () => {
    const api = await startOrigin(echo);
    const [, untrusted] = await startGateway({ routes: [{ id: 'api', pathPrefix: '/', origin: api }] });
    const spoof = {
      'x-forwarded-for': '6.6.6.6',
      'x-forwarded-proto': 'https',
      'x-forwarded-host': 'evil',
      forwarded: 'for=6.6.6.6',
    };
    const a = JSON.parse((await httpRequest(untrusted, '/', { headers: spoof })).text).headers;
    expect(a['x-forwarded-for']).toBe('127.0.0.1');
    expect(a['x-forwarded-proto']).toBe('http');
    expect(a['x-forwarded-host']).not.toBe('evil');
    expect(a.forwarded).toMatch(/^for=127\.0\.0\.1;proto=http/);

    const [, trusted] = await startGateway({
      trustedProxies: { cidrs: ['127.0.0.0/8'] },
      routes: [{ id: 'api', pathPrefix: '/', origin: api }],
      filters: [{ type: 'rateLimit', capacity: 1, refillPerSecond: 0.001 }],
    });
    const b = JSON.parse(
      (await httpRequest(trusted, '/', { headers: { 'x-forwarded-for': '203.0.113.7' } })).text,
    ).headers;
    expect(b['x-forwarded-for']).toBe('203.0.113.7, 127.0.0.1');
    expect(b.forwarded).toMatch(/^for=203\.0\.113\.7;/);
    // the trusted client IP is what the rate limiter keys on
    expect((await httpRequest(trusted, '/', { headers: { 'x-forwarded-for': '203.0.113.7' } })).status).toBe(429);
    expect((await httpRequest(trusted, '/', { headers: { 'x-forwarded-for': '203.0.113.8' } })).status).toBe(200);
  });

  it('keeps the admin listener closed without its token', async () => {
    const api = await startOrigin(echo);
    const token = 'admin-token-0123456789';
    const [gateway] = await startGateway({
      admin: { enabled: false, token },
      routes: [{ id: 'api', pathPrefix: '/', origin: api }],
    });
    const admin = await gateway.listenAdmin({ port: 0 });
    const url = `http://127.0.0.1:${admin.port}`;
    for (const path of ['/health', '/metrics', '/routes', '/hystrix.stream']) {
      expect((await get(`${url}${path}`)).status).toBe(401);
      expect((await get(`${url}${path}`, { headers: { authorization: 'Bearer wrong-token-0123456789' } })).status).toBe(
        401,
      );
    }
    expect((await get(`${url}/health`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
  });

  it('does not let a client strip gateway headers through Connection', async () => {
    const api = await startOrigin(echo);
    const [, base] = await startGateway({
      filters: [{ type: 'requestId' }],
      routes: [{ id: 'api', pathPrefix: '/', origin: api }],
    });
    const seen = JSON.parse(
      (
        await httpRequest(base, '/', {
          headers: { connection: 'x-forwarded-for, x-request-id, x-custom', 'x-custom': '1' },
        })
      ).text,
    ).headers;
    expect(seen['x-forwarded-for']).toBe('127.0.0.1');
    expect(seen['x-request-id']).toBeDefined();
    expect(seen['x-custom']).toBeUndefined();
  });
});
