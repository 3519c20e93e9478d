import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request as httpRequestRaw, type IncomingHttpHeaders } from 'node:http';
import { createSecureServer, type Http2SecureServer, type Http2Session } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createGateway, isInvalidConfigError, parseConfig } from '../src/index.js';
import { websocketAccept } from '../src/security/upgrade-policy.js';
import { selfSigned } from './certs.js';
import { httpRequest, onCleanup, rawRequest, rawStatus, startGateway } from './helpers.js';

interface Seen {
  httpVersion: string;
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
}

/** Headers that must never reach an HTTP/2 server (RFC 9113 §8.2.2), nor any origin (hop-by-hop). */
const CONNECTION_SPECIFIC = [
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'te',
  'http2-settings',
];

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'backlot-h2-origin-'));
  onCleanup(async () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * A `node:http2` TLS origin. With `h1: false` it offers only `h2` by ALPN, so
 * anything it serves went over HTTP/2. GET answers what it saw; POST echoes
 * each body chunk as it arrives; `Upgrade:` requests (HTTP/1.1 only) get a 101
 * and a byte echo.
 */
async function startH2Origin(tls: { certFile: string; keyFile: string }, h1 = false) {
  const seen: Seen[] = [];
  const upgrades: IncomingHttpHeaders[] = [];
  const sessions = new Set<Http2Session>();
  const sockets = new Set<Duplex>();
  const server: Http2SecureServer = createSecureServer(
    { cert: readFileSync(tls.certFile), key: readFileSync(tls.keyFile), allowHTTP1: h1 },
    (req, res) => {
      seen.push({ httpVersion: req.httpVersion, method: req.method, url: req.url, headers: { ...req.headers } });
      if (req.method === 'POST') {
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'x-origin': 'h2' });
        req.on('data', (chunk: Buffer) => res.write(chunk));
        req.on('end', () => res.end());
        return;
      }
      req.resume();
      res.writeHead(200, {
        'content-type': 'application/json',
        'x-origin': 'h2',
        'cache-control': 'no-store',
        'set-cookie': ['a=1; Path=/', 'b=2; Path=/'],
      });
      res.end(JSON.stringify({ url: req.url, httpVersion: req.httpVersion }));
    },
  );
  let connections = 0;
  server.on('secureConnection', () => connections++);
  server.on('session', (session: Http2Session) => {
    sessions.add(session);
    session.on('close', () => sessions.delete(session));
  });
  server.on('upgrade', (req: { headers: IncomingHttpHeaders }, socket: Duplex) => {
    upgrades.push(req.headers);
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    const accept = websocketAccept(String(req.headers['sec-websocket-key']));
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-accept: ${accept}\r\n\r\n`,
    );
    socket.pipe(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onCleanup(async () => {
    for (const session of sessions) session.destroy();
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
  return {
    url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    upgrades,
    connections: () => connections,
  };
}

/**
 * POSTs `chunks` one at a time over a chunked HTTP/1.1 request, sending the
 * next only once the previous came back: passes only if the body streams both
 * ways (nothing buffered whole on the way).
 */
function pingPong(
  base: string,
  path: string,
  chunks: readonly string[],
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: IncomingHttpHeaders; text: string }> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = httpRequestRaw({ host: url.hostname, port: url.port, path, method: 'POST', headers }, (res) => {
      let text = '';
      let sent = 1;
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
        if (sent < chunks.length && text === chunks.slice(0, sent).join('')) req.write(chunks[sent++]);
        else if (sent === chunks.length && text === chunks.join('')) req.end();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.write(chunks[0]);
  });
}

describe('HTTP/2 to origins', () => {
  it('proxies GET and a streamed POST to an h2-only TLS origin, with the gateway headers and no connection-specific ones', async () => {
    const dir = tempDir();
    const tls = selfSigned(dir, 'origin', ['127.0.0.1']);
    const origin = await startH2Origin(tls);
    const [, base] = await startGateway({
      origins: { h2: { servers: [origin.url], allowH2: true, tls: { caFile: tls.certFile } } },
      filters: [
        { type: 'requestId' },
        // A filter may set what the client could not: still never sent on HTTP/2.
        { type: 'headers', request: { set: { 'x-filter': 'yes', 'proxy-connection': 'keep-alive', te: 'gzip' } } },
      ],
      routes: [{ id: 'h2', pathPrefix: '/', origin: 'h2' }],
    });

    const hopByHop = {
      connection: 'keep-alive, x-hop',
      'x-hop': 'dropped: named in Connection',
      'keep-alive': 'timeout=5',
      'proxy-connection': 'keep-alive',
      te: 'trailers, deflate',
      'http2-settings': 'AAMAAABkAAQAoAAA',
      'x-custom': 'kept',
    };
    // The client's Host is not the origin's name: it must not become the TLS server name.
    const got = await httpRequest(base, '/titles/1?lang=en', { headers: { ...hopByHop, host: 'public.example' } });
    expect(got.status).toBe(200);
    expect(JSON.parse(got.text)).toEqual({ url: '/titles/1?lang=en', httpVersion: '2.0' });
    expect(got.headers['x-origin']).toBe('h2');
    expect(got.headers['cache-control']).toBe('no-store');
    expect(got.headers['set-cookie']).toEqual(['a=1; Path=/', 'b=2; Path=/']);
    expect(got.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);

    const chunks = ['first;', 'x'.repeat(200_000), ';second;', 'y'.repeat(70_000), ';last'];
    const posted = await pingPong(base, '/upload', chunks, {
      ...hopByHop,
      host: 'public.example',
      'content-type': 'application/octet-stream',
    });
    expect(posted.status).toBe(200);
    expect(posted.headers['x-origin']).toBe('h2');
    expect(posted.text).toBe(chunks.join(''));

    // Another client Host: same TLS server name, so the same connection.
    expect((await httpRequest(base, '/other', { headers: { host: 'other.example' } })).status).toBe(200);
    expect(origin.connections()).toBe(1);

    expect(origin.seen.map((s) => [s.method, s.url, s.httpVersion])).toEqual([
      ['GET', '/titles/1?lang=en', '2.0'],
      ['POST', '/upload', '2.0'],
      ['GET', '/other', '2.0'],
    ]);
    for (const { headers } of origin.seen.slice(0, 2)) {
      for (const name of [...CONNECTION_SPECIFIC, 'x-hop']) expect(headers[name], name).toBeUndefined();
      expect(headers['x-custom']).toBe('kept');
      expect(headers['x-filter']).toBe('yes');
      expect(headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
      expect(headers.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
      expect(headers['x-forwarded-for']).toBe('127.0.0.1');
      expect(headers['x-forwarded-proto']).toBe('http');
      expect(headers['x-forwarded-host']).toBe('public.example');
      expect(headers.forwarded).toBe('for=127.0.0.1;proto=http;host="public.example"');
    }
    expect(origin.seen[0]?.headers['x-request-id']).toBe(got.headers['x-request-id']);
    expect(origin.seen[1]?.headers['content-type']).toBe('application/octet-stream');
  });

  it('trusts an origin by its CA file and server name, and refuses what it cannot verify', async () => {
    const dir = tempDir();
    // A certificate for a DNS name only: 127.0.0.1 does not match it.
    const tls = selfSigned(dir, 'origin.internal', ['origin.internal']);
    const origin = await startH2Origin(tls);
    const once = { retry: { maxAttempts: 1 }, allowH2: true } as const;
    const lines: { route?: string; error?: unknown }[] = [];
    const logger = { info: (o: object) => lines.push(o), warn() {}, error() {} };
    const logged = (route: string) => lines.find((line) => line.route === route)?.error;
    const [, base] = await startGateway(
      {
        origins: {
          named: {
            servers: [origin.url],
            ...once,
            tls: { ca: readFileSync(tls.certFile, 'utf8'), servername: 'origin.internal' },
          },
          unnamed: { servers: [origin.url], ...once, tls: { caFile: tls.certFile } },
          untrusted: { servers: [origin.url], ...once },
          unchecked: { servers: [origin.url], ...once, tls: { rejectUnauthorized: false } },
        },
        routes: ['named', 'unnamed', 'untrusted', 'unchecked'].map((name) => ({
          id: name,
          pathPrefix: `/${name}`,
          origin: name,
        })),
      },
      { logger },
    );
    const named = await httpRequest(base, '/named', { headers: { host: 'public.example' } });
    expect(named.status).toBe(200);
    expect(JSON.parse(named.text).httpVersion).toBe('2.0');

    // The client gets a fixed message; the cause goes to the access log.
    const unnamed = await httpRequest(base, '/unnamed');
    expect(unnamed.status).toBe(502);
    expect(JSON.parse(unnamed.text).message).toBe('the origin could not be reached or did not answer properly');
    expect(JSON.stringify(logged('unnamed'))).toMatch(/(IP|altnames|127\.0\.0\.1)/);
    const untrusted = await httpRequest(base, '/untrusted');
    expect(untrusted.status).toBe(502);
    expect(JSON.stringify(logged('untrusted'))).toMatch(/self[- ]signed/);

    expect((await httpRequest(base, '/unchecked')).status).toBe(200);
    expect(origin.seen).toHaveLength(2);
  });

  it('sends WebSocket upgrades to an HTTP/2 origin over HTTP/1.1', async () => {
    const dir = tempDir();
    const tls = selfSigned(dir, 'origin', ['127.0.0.1']);
    const origin = await startH2Origin(tls, true);
    const [, base] = await startGateway({
      origins: { h2: { servers: [origin.url], allowH2: true, tls: { caFile: tls.certFile } } },
      routes: [{ id: 'h2', pathPrefix: '/', origin: 'h2' }],
    });
    expect(JSON.parse((await httpRequest(base, '/')).text).httpVersion).toBe('2.0');
    const upgraded = await rawRequest(
      base,
      'GET /chat HTTP/1.1\r\nhost: localhost\r\nupgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-version: 13\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
      300,
    );
    expect(rawStatus(upgraded)).toBe(101);
    expect(origin.upgrades).toHaveLength(1);
    expect(origin.upgrades[0]?.upgrade).toBe('websocket');
    expect(JSON.parse((await httpRequest(base, '/again')).text).httpVersion).toBe('2.0');
  });

  it('validates the origin TLS settings, naming the field', () => {
    const issues = (config: unknown): string => {
      try {
        parseConfig(config);
        return '';
      } catch (error) {
        expect(isInvalidConfigError(error)).toBe(true);
        return (error as Error).message;
      }
    };
    const route = [{ id: 'a', pathPrefix: '/', origin: 'a' }];
    const origin = (tls: unknown, servers = ['https://127.0.0.1:8443']) => ({
      origins: { a: { servers, tls } },
      routes: route,
    });
    expect(issues(origin({ caFile: '/etc/ca.pem', servername: 'api.internal' }))).toBe('');
    expect(issues(origin({ ca: 'not a certificate' }))).toMatch(/origins\.a\.tls\.ca: tls\.ca must be PEM text/);
    expect(issues(origin({ ca: '-----BEGIN CERTIFICATE-----', caFile: '/etc/ca.pem' }))).toMatch(
      /origins\.a\.tls\.caFile: give tls\.ca or tls\.caFile, not both/,
    );
    expect(issues(origin({ servername: '10.0.0.1' }))).toMatch(/origins\.a\.tls\.servername: .*not an IP address/);
    expect(issues(origin({ rejectUnauthorized: 'no' }))).toMatch(
      /origins\.a\.tls\.rejectUnauthorized: tls\.rejectUnauthorized must be true or false/,
    );
    expect(issues(origin({ verify: true }))).toMatch(/origins\.a\.tls: .*verify/);
    expect(issues(origin({ caFile: '/etc/ca.pem' }, ['http://127.0.0.1:8080']))).toMatch(
      /origins\.a\.tls: tls applies to https:\/\/ servers/,
    );

    const missing = join(tmpdir(), 'backlot-no-such-ca.pem');
    expect(() =>
      createGateway({
        origins: { a: { servers: ['https://127.0.0.1:8443'], tls: { caFile: missing } } },
        routes: route,
      }),
    ).toThrow(
      new RegExp(`origins\\.a\\.tls\\.caFile: cannot read '${missing.replace(/[.\\/]/g, '\\$&')}' \\(ENOENT\\)`),
    );
  });
});
