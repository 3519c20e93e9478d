import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createGateway, type Gateway } from '../src/index.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;
const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  while (cleanups.length) await cleanups.pop()?.();
});

async function startOrigin(handler: Handler): Promise<string> {
  const server: Server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** An origin that answers with what it received. */
const echo: Handler = (req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    const body = JSON.stringify({
      method: req.method,
      url: req.url,
      headers: req.headers,
      body: Buffer.concat(chunks).toString(),
    });
    res.writeHead(200, { 'content-type': 'application/json', 'x-origin': 'echo', connection: 'keep-alive' });
    res.end(body);
  });
};

async function startGateway(options: Parameters<typeof createGateway>[0]): Promise<[Gateway, string]> {
  const gateway = createGateway(options);
  const { port } = await gateway.listen({ port: 0 });
  cleanups.push(() => gateway.close());
  return [gateway, `http://127.0.0.1:${port}`];
}

describe('createGateway', () => {
  it('routes by longest path prefix and forwards method, path, query and body', async () => {
    const api = await startOrigin(echo);
    const admin = await startOrigin((_req, res) => res.end('admin'));
    const [, base] = await startGateway({
      routes: [
        { id: 'api', pathPrefix: '/api', origin: api },
        { id: 'admin', pathPrefix: '/api/admin', origin: admin },
      ],
    });

    const response = await fetch(`${base}/api/titles/42?country=NL`, { method: 'POST', body: 'hello' });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-origin')).toBe('echo');
    const seen = (await response.json()) as { method: string; url: string; body: string };
    expect(seen).toMatchObject({ method: 'POST', url: '/api/titles/42?country=NL', body: 'hello' });

    expect(await (await fetch(`${base}/api/admin/x`)).text()).toBe('admin');
  });

  it('strips the prefix and joins the origin base path when asked', async () => {
    const api = await startOrigin(echo);
    const [, base] = await startGateway({
      routes: [{ id: 'play', pathPrefix: '/play/', origin: `${api}/v2`, stripPrefix: true }],
    });
    const seen = (await (await fetch(`${base}/play/start?x=1`)).json()) as { url: string };
    expect(seen.url).toBe('/v2/start?x=1');
    const root = (await (await fetch(`${base}/play`)).json()) as { url: string };
    expect(root.url).toBe('/v2/');
  });

  it('matches prefixes on segment boundaries only', async () => {
    const api = await startOrigin(echo);
    const [, base] = await startGateway({ routes: [{ id: 'api', pathPrefix: '/api', origin: api }] });
    const response = await fetch(`${base}/apix`);
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ error: 'no_route', message: 'no route for GET /apix' });
  });

  it('drops hop-by-hop headers and adds X-Forwarded-*', async () => {
    const api = await startOrigin(echo);
    const [, base] = await startGateway({ routes: [{ id: 'api', pathPrefix: '/', origin: api }] });
    const response = await fetch(`${base}/h`, { headers: { 'x-custom': '1', 'x-forwarded-for': '203.0.113.9' } });
    const { headers } = (await response.json()) as { headers: Record<string, string> };
    expect(headers['x-custom']).toBe('1');
    expect(headers['x-forwarded-for']).toBe('127.0.0.1'); // untrusted peer: the spoofed value is replaced
    expect(headers['x-forwarded-proto']).toBe('http');
    expect(headers['x-forwarded-host']).toBe(new URL(base).host);
    expect(response.headers.get('connection')).not.toBe('keep-alive, keep-alive');
  });

  it('streams a large request body through', async () => {
    const api = await startOrigin((req, res) => {
      let bytes = 0;
      req.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
      });
      req.on('end', () => res.end(String(bytes)));
    });
    const [, base] = await startGateway({ routes: [{ id: 'upload', pathPrefix: '/', origin: api }] });
    const body = Buffer.alloc(8 * 1024 * 1024, 7);
    const response = await fetch(`${base}/upload`, { method: 'PUT', body });
    expect(await response.text()).toBe(String(body.length));
  });

  it('answers 502 when the origin is down', async () => {
    const [, base] = await startGateway({ routes: [{ id: 'gone', pathPrefix: '/', origin: 'http://127.0.0.1:9' }] });
    const response = await fetch(`${base}/x`);
    expect(response.status).toBe(502);
    expect(((await response.json()) as { error: string }).error).toBe('origin_unavailable');
  });

  it('answers 504 when the origin is too slow', async () => {
    const slow = await startOrigin(() => {
      /* never answers */
    });
    const [, base] = await startGateway({
      routes: [{ id: 'slow', pathPrefix: '/', origin: slow }],
      defaults: { timeoutMs: 100 },
    });
    const response = await fetch(`${base}/x`);
    expect(response.status).toBe(504);
    expect(((await response.json()) as { error: string }).error).toBe('origin_timeout');
  });

  it('rejects bad config with an error naming the field', () => {
    expect(() => createGateway({ routes: [] })).toThrow(/at least one route/);
    expect(() => createGateway({ routes: [{ id: 'a', pathPrefix: 'api', origin: 'http://x' }] })).toThrow(
      /pathPrefix must start with '\/'/,
    );
    expect(() => createGateway({ routes: [{ id: 'a', pathPrefix: '/', origin: 'ftp://x' }] })).toThrow(
      /routes\[0\]\.origin: unknown origin 'ftp:\/\/x': define it under origins, or use an http\(s\) URL/,
    );
    expect(() =>
      createGateway({
        routes: [
          { id: 'a', pathPrefix: '/', origin: 'http://x' },
          { id: 'a', pathPrefix: '/b', origin: 'http://x' },
        ],
      }),
    ).toThrow(/duplicate route id 'a'/);
    expect(() =>
      createGateway({ routes: [{ id: 'a', pathPrefix: '/', origin: 'http://x' }], defaults: { timeoutMs: -1 } }),
    ).toThrow(/defaults.timeoutMs: timeoutMs must be at least 1 ms/);
  });
});
