import { request as httpRequestRaw } from 'node:http';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { echo, get, httpRequest, rawRequest, rawStatus, startGateway, startOrigin, until } from './helpers.js';

describe('HTTP correctness', () => {
  it('strips hop-by-hop response headers, including those named in Connection', async () => {
    const api = await startOrigin((_req, res) => {
      res.writeHead(200, {
        connection: 'x-hop, keep-alive',
        'x-hop': 'secret',
        'keep-alive': 'timeout=99',
        'x-end': '1',
      });
      res.end('ok');
    });
    const [, base] = await startGateway({ routes: [{ id: 'api', pathPrefix: '/', origin: api }] });
    const response = await httpRequest(base, '/');
    expect(response.headers['x-hop']).toBeUndefined();
    expect(response.headers['x-end']).toBe('1');
    expect(response.headers['keep-alive']).not.toBe('timeout=99');
  });

  it('answers 100 Continue itself and strips Expect before dispatch', async () => {
    const api = await startOrigin(echo);
    const [, base] = await startGateway({ routes: [{ id: 'api', pathPrefix: '/', origin: api }] });
    const { port } = new URL(base);
    const text = await new Promise<string>((resolve, reject) => {
      const req = httpRequestRaw({
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/upload',
        headers: { expect: '100-continue', 'content-length': '5' },
      });
      let continued = false;
      req.on('continue', () => {
        continued = true;
        req.end('hello');
      });
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => (continued ? resolve(Buffer.concat(chunks).toString()) : reject(new Error('no 100'))));
      });
      req.on('error', reject);
    });
    const seen = JSON.parse(text) as { body: string; headers: Record<string, string> };
    expect(seen.body).toBe('hello');
    expect(seen.headers.expect).toBeUndefined();
  });

  it('refuses an Expect: 100-continue upload with 401 before the body is sent', async () => {
    const api = await startOrigin(echo);
    const [, base] = await startGateway({
      routes: [
        { id: 'api', pathPrefix: '/', origin: api, filters: [{ type: 'apiKey', keys: ['k-0123456789abcdef'] }] },
      ],
    });
    const text = await rawRequest(
      base,
      'PUT /x HTTP/1.1\r\nHost: gw\r\nExpect: 100-continue\r\nContent-Length: 1000\r\n\r\n',
      500,
    );
    expect(rawStatus(text)).toBe(401);
    expect(text).not.toContain('100 Continue');
  });

  it('sends HEAD, 204 and 304 responses without bodies, and keeps the connection usable', async () => {
    const api = await startOrigin((req, res) => {
      if (req.url === '/204') res.writeHead(204).end();
      else if (req.url === '/304') res.writeHead(304, { etag: '"1"' }).end();
      else res.writeHead(200, { 'content-length': '5' }).end(req.method === 'HEAD' ? undefined : 'hello');
    });
    const [, base] = await startGateway({ routes: [{ id: 'api', pathPrefix: '/', origin: api }] });
    const text = await rawRequest(
      base,
      'HEAD /x HTTP/1.1\r\nHost: gw\r\n\r\nGET /204 HTTP/1.1\r\nHost: gw\r\n\r\nGET /304 HTTP/1.1\r\nHost: gw\r\n\r\nGET /x HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n',
    );
    const statuses = [...text.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => m[1]);
    expect(statuses).toEqual(['200', '204', '304', '200']);
    expect(text.match(/hello/g)).toHaveLength(1);
    expect(text).toContain('content-length: 5');
  });

  it('streams chunked and content-length bodies both ways', async () => {
    const api = await startOrigin((req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' }); // no length: chunked back
      req.pipe(res);
    });
    const [, base] = await startGateway({ routes: [{ id: 'api', pathPrefix: '/', origin: api }] });
    const chunked = await fetch(`${base}/x`, {
      method: 'POST',
      body: Readable.toWeb(Readable.from(['a', 'b', 'c'])) as ReadableStream,
      duplex: 'half',
    } as RequestInit);
    expect(await chunked.text()).toBe('abc');
    expect((await get(`${base}/x`, { method: 'POST', body: 'fixed' })).text).toBe('fixed');
  });

  it('streams a large upload with backpressure (bounded memory)', async () => {
    let received = 0;
    const api = await startOrigin((req, res) => {
      req.on('data', (chunk: Buffer) => {
        received += chunk.length;
      });
      req.on('end', () => res.end(String(received)));
    });
    const [, base] = await startGateway({ routes: [{ id: 'api', pathPrefix: '/', origin: api }] });
    const total = 256 * 1024 * 1024;
    const chunk = Buffer.alloc(1024 * 1024, 1);
    async function* source() {
      for (let sent = 0; sent < total; sent += chunk.length) yield chunk;
    }
    const before = process.memoryUsage().rss;
    const response = await httpRequestStream(base, source());
    expect(response).toBe(String(total));
    expect(process.memoryUsage().rss - before).toBeLessThan(total / 2);
  });

  it('aborts the origin request when the client goes away', async () => {
    let originClosed = false;
    let started = false;
    const api = await startOrigin((req, res) => {
      started = true;
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: 1\n\n');
      req.on('close', () => {
        originClosed = true;
      });
    });
    const [, base] = await startGateway({ routes: [{ id: 'api', pathPrefix: '/', origin: api }] });
    const controller = new AbortController();
    const response = await fetch(`${base}/events`, { signal: controller.signal });
    const reader = response.body?.getReader();
    await reader?.read();
    expect(started).toBe(true);
    controller.abort();
    await until(() => originClosed);
  });

  it('keeps idle SSE streams open on routes with idleTimeoutMs: 0, and cuts them elsewhere', async () => {
    const api = await startOrigin((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: first\n\n');
      setTimeout(() => res.end('data: late\n\n'), 1500);
    });
    const [, base] = await startGateway({
      origins: { sse: { servers: [api], bodyTimeoutMs: 500 } },
      routes: [
        { id: 'sse', pathPrefix: '/sse', origin: 'sse', idleTimeoutMs: 0 },
        { id: 'other', pathPrefix: '/', origin: 'sse' },
      ],
    });
    expect(await (await fetch(`${base}/sse`)).text()).toBe('data: first\n\ndata: late\n\n');
    await expect((await fetch(`${base}/other`)).text()).rejects.toThrow();
  });

  it('streams SSE events one by one (nothing buffered), through idle gaps longer than every gateway timeout', async () => {
    let sendNext: (() => void) | undefined;
    const api = await startOrigin((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      let n = 0;
      sendNext = () => {
        n++;
        // Each event is sent only once the client has read the previous one: a buffering proxy would hang here.
        if (n < 4) setTimeout(() => res.write(`data: ${n}\n\n`), 400);
        else res.end('data: end\n\n');
      };
      sendNext();
    });
    const [, base] = await startGateway({
      server: { keepAliveTimeoutMs: 100 },
      filters: [{ type: 'requestId' }],
      origins: { sse: { servers: [api], bodyTimeoutMs: 100, timeoutMs: 1000 } },
      routes: [{ id: 'sse', pathPrefix: '/', origin: 'sse', idleTimeoutMs: 0 }],
    });
    const response = await fetch(`${base}/events`);
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    expect(response.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    const events: string[] = [];
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      events.push(decoder.decode(value));
      sendNext?.();
    }
    expect(events.join('')).toBe('data: 1\n\ndata: 2\n\ndata: 3\n\ndata: end\n\n');
  });

  it('distinguishes 502 (origin error) from 504 (origin timeout), both with the request id', async () => {
    const reset = await startOrigin((req) => req.socket.destroy());
    const slow = await startOrigin(() => {});
    const [, base] = await startGateway({
      origins: {
        reset: { servers: [reset], retry: { maxAttempts: 1 } },
        slow: { servers: [slow], timeoutMs: 200, retry: { maxAttempts: 1 } },
      },
      routes: [
        { id: 'reset', pathPrefix: '/reset', origin: 'reset' },
        { id: 'slow', pathPrefix: '/slow', origin: 'slow' },
      ],
    });
    const a = await get(`${base}/reset`);
    expect(a.status).toBe(502);
    expect(JSON.parse(a.text)).toMatchObject({ error: 'origin_unavailable', requestId: a.headers.get('x-request-id') });
    const b = await get(`${base}/slow`);
    expect(b.status).toBe(504);
    expect(JSON.parse(b.text)).toMatchObject({ error: 'origin_timeout', requestId: b.headers.get('x-request-id') });
  });
});

function httpRequestStream(base: string, body: AsyncIterable<Buffer>): Promise<string> {
  const { port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = httpRequestRaw({ host: '127.0.0.1', port, method: 'PUT', path: '/upload' }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve(Buffer.concat(chunks).toString()));
    });
    req.on('error', reject);
    Readable.from(body).pipe(req);
  });
}
