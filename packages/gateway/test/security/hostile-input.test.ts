import type { IncomingHttpHeaders } from 'node:http';
import { describe, expect, it } from 'vitest';
import { rawRequest, startGateway, startOrigin } from '../helpers.js';

/**
 * The standing hostile-input suite: raw requests as an attacker writes them,
 * against a real gateway whose `/admin` route needs an API key and whose
 * catch-all goes to an echoing origin. Each row states every status the
 * connection must answer, in order, and whether any origin may be reached.
 */
interface Row {
  readonly name: string;
  readonly request: string;
  /** Every status answered on the connection, in order. */
  readonly statuses: readonly number[];
  /** Whether the request may reach an origin at all (default: only when a 2xx is expected). */
  readonly reachesOrigin?: boolean;
  /** Checks on what the origin received. */
  readonly seen?: (headers: IncomingHttpHeaders[], urls: string[]) => void;
  /** Checks on the raw answer. */
  readonly answer?: (text: string) => void;
}

const KEY = 'admin-key-0123456789';
const host = 'Host: gw\r\n';
const close = 'Connection: close\r\n';

const ROWS: Record<string, readonly Row[]> = {
  smuggling: [
    {
      name: 'CL + TE',
      request: `POST /x HTTP/1.1\r\n${host}Content-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /admin/x HTTP/1.1\r\n${host}\r\n`,
      statuses: [400],
    },
    {
      name: 'two Content-Lengths',
      request: `POST /x HTTP/1.1\r\n${host}Content-Length: 1\r\nContent-Length: 5\r\n\r\nhello`,
      statuses: [400],
    },
    {
      name: 'obfuscated Transfer-Encoding',
      request: `POST /x HTTP/1.1\r\n${host}Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n`,
      statuses: [400],
    },
    { name: 'bare CR in a header', request: `GET /x HTTP/1.1\r\n${host}X-A: a\rX-B: b\r\n\r\n`, statuses: [400] },
    {
      name: 'absolute-form target',
      request: `GET http://127.0.0.1:1/x HTTP/1.1\r\n${host}${close}\r\n`,
      statuses: [400],
    },
  ],
  normalisation: [
    { name: 'encoded unreserved', request: `GET /%61dmin/x HTTP/1.1\r\n${host}${close}\r\n`, statuses: [401] },
    { name: 'encoded dots', request: `GET /api/%2e%2e/%61dmin/x HTTP/1.1\r\n${host}${close}\r\n`, statuses: [401] },
    { name: 'empty segment', request: `GET //admin/x HTTP/1.1\r\n${host}${close}\r\n`, statuses: [401] },
    { name: '; parameter', request: `GET /admin;x HTTP/1.1\r\n${host}${close}\r\n`, statuses: [400] },
    { name: '..; segment', request: `GET /x/..;/admin/x HTTP/1.1\r\n${host}${close}\r\n`, statuses: [400] },
    { name: 'upper case', request: `GET /ADMIN/x HTTP/1.1\r\n${host}${close}\r\n`, statuses: [400] },
    { name: 'suffix', request: `GET /admin.json HTTP/1.1\r\n${host}${close}\r\n`, statuses: [400] },
    { name: 'encoded slash', request: `GET /x/..%2fadmin HTTP/1.1\r\n${host}${close}\r\n`, statuses: [400] },
    { name: 'backslash', request: `GET /x/..\\admin HTTP/1.1\r\n${host}${close}\r\n`, statuses: [400] },
    { name: 'encoded NUL', request: `GET /x%00 HTTP/1.1\r\n${host}${close}\r\n`, statuses: [400] },
    {
      name: 'normalised path forwarded',
      request: `GET /a/%62/./c/../d//e HTTP/1.1\r\n${host}${close}\r\n`,
      statuses: [200],
      seen: (_headers, urls) => expect(urls).toEqual(['/a/b/d/e']),
    },
  ],
  upgrade: [
    {
      name: 'h2c',
      request: `GET /x HTTP/1.1\r\n${host}Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\nGET /admin/x HTTP/1.1\r\n${host}\r\n`,
      statuses: [400],
    },
    {
      name: 'unlisted token',
      request: `GET /x HTTP/1.1\r\n${host}Connection: Upgrade\r\nUpgrade: foo\r\n\r\n`,
      statuses: [400],
    },
    {
      name: 'websocket without a key',
      request: `GET /x HTTP/1.1\r\n${host}Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      statuses: [400],
    },
    {
      name: 'websocket to a protected route without the key',
      request: `GET /admin/ws HTTP/1.1\r\n${host}Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`,
      statuses: [401],
    },
    {
      name: 'websocket to a protected route in upper case',
      request: `GET /ADMIN/ws HTTP/1.1\r\n${host}Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`,
      statuses: [400],
    },
    {
      name: 'websocket to an encoded protected path',
      request: `GET /%61dmin/ws HTTP/1.1\r\n${host}Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`,
      statuses: [401],
    },
  ],
  pipelining: [
    {
      name: 'valid GET, then a malformed request',
      request: `GET /one HTTP/1.1\r\n${host}\r\nGET /two HTTP/1.1\r\n${host}Bad Header\r\n\r\n`,
      statuses: [200, 400],
      reachesOrigin: true,
      seen: (_headers, urls) => expect(urls).toEqual(['/one']),
    },
    {
      name: 'valid POST, then a malformed request',
      request: `POST /one HTTP/1.1\r\n${host}Content-Length: 5\r\n\r\nhelloGET /two HTTP/1.1\r\n${host}Content-Length: 1\r\nContent-Length: 2\r\n\r\n`,
      statuses: [200, 400],
      reachesOrigin: true,
      seen: (_headers, urls) => expect(urls).toEqual(['/one']),
    },
    {
      name: 'two valid GETs, then a malformed request',
      request: `GET /one HTTP/1.1\r\n${host}\r\nGET /two HTTP/1.1\r\n${host}\r\nGET /three HTTP/1.1\r\nHost gw\r\n\r\n`,
      statuses: [200, 200, 400],
      reachesOrigin: true,
      seen: (_headers, urls) => expect(urls).toEqual(['/one', '/two']),
    },
    {
      name: 'two valid requests',
      request: `GET /one HTTP/1.1\r\n${host}\r\nGET /two HTTP/1.1\r\n${host}${close}\r\n`,
      statuses: [200, 200],
      seen: (_headers, urls) => expect(urls).toEqual(['/one', '/two']),
    },
  ],
  limits: [
    {
      name: 'headers over maxHeaderSize',
      request: `GET /x HTTP/1.1\r\n${host}X-Big: ${'a'.repeat(9000)}\r\n\r\n`,
      statuses: [431],
    },
    {
      name: 'declared body over maxBodyBytes',
      request: `POST /x HTTP/1.1\r\n${host}Content-Length: 5000\r\n\r\n`,
      statuses: [413],
    },
    {
      name: 'streamed body over maxBodyBytes',
      request: `POST /x HTTP/1.1\r\n${host}Transfer-Encoding: chunked\r\n\r\n1000\r\n${'x'.repeat(4096)}\r\n0\r\n\r\n`,
      statuses: [413],
      reachesOrigin: true, // the first bytes stream before the limit is crossed
    },
  ],
  timeouts: [
    {
      name: 'small body that stops (buffered for retries)',
      request: `POST /x HTTP/1.1\r\n${host}Content-Length: 100\r\n\r\n0123456789`,
      statuses: [408],
    },
    {
      name: 'streamed body that stops',
      request: `POST /stream/x HTTP/1.1\r\n${host}Transfer-Encoding: chunked\r\n\r\na\r\n0123456789\r\n`,
      statuses: [408],
      reachesOrigin: true,
    },
  ],
  head: [
    { name: 'TRACE', request: `TRACE /x HTTP/1.1\r\n${host}${close}\r\n`, statuses: [405] },
    { name: 'duplicate Host', request: `GET /x HTTP/1.1\r\n${host}Host: evil\r\n${close}\r\n`, statuses: [400] },
    { name: 'broken IPv6 Host', request: `GET /x HTTP/1.1\r\nHost: [x\r\n${close}\r\n`, statuses: [400] },
    {
      name: 'underscore header names dropped',
      request: `GET /x HTTP/1.1\r\n${host}X_Forwarded_For: 6.6.6.6\r\nX_Custom: 1\r\nX-Custom: 2\r\n${close}\r\n`,
      statuses: [200],
      seen: (headers) => {
        expect(Object.keys(headers[0] ?? {}).filter((name) => name.includes('_'))).toEqual([]);
        expect(headers[0]?.['x-custom']).toBe('2');
        expect(headers[0]?.['x-forwarded-for']).toBe('127.0.0.1');
      },
    },
    {
      name: "a client's request id is not trusted",
      request: `GET /x HTTP/1.1\r\n${host}X-Request-Id: chosen-by-client\r\n${close}\r\n`,
      statuses: [200],
      seen: (headers) => expect(headers[0]?.['x-request-id']).not.toBe('chosen-by-client'),
      answer: (text) => expect(text).not.toContain('chosen-by-client'),
    },
    {
      name: 'origin 204 relayed without Content-Length',
      request: `GET /no-content HTTP/1.1\r\n${host}${close}\r\n`,
      statuses: [204],
      answer: (text) => expect(text.toLowerCase()).not.toContain('content-length'),
    },
  ],
};

/** Every status line on a connection, in order (interim `100 Continue` excluded). */
function statusesOf(text: string): number[] {
  return [...text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1])).filter((s) => s !== 100);
}

describe('hostile input (raw sockets)', () => {
  for (const [group, rows] of Object.entries(ROWS)) {
    describe(group, () => {
      for (const row of rows) {
        it(row.name, async () => {
          const headers: IncomingHttpHeaders[] = [];
          const urls: string[] = [];
          const origin = await startOrigin((req, res) => {
            headers.push(req.headers);
            urls.push(req.url ?? '');
            req.resume();
            req.on('end', () => {
              if (req.url === '/no-content') {
                res.writeHead(204, { 'content-length': '0' });
                res.end();
                return;
              }
              res.end('ok');
            });
            req.on('error', () => res.destroy());
          });
          const [gateway, base] = await startGateway({
            server: { maxHeaderSize: 8192, maxBodyBytes: 2048, bodyIdleTimeoutMs: 200 },
            filters: [{ type: 'requestId' }],
            routes: [
              { id: 'admin', pathPrefix: '/admin', origin, filters: [{ type: 'apiKey', keys: [KEY] }] },
              { id: 'stream', pathPrefix: '/stream', origin, retry: false },
              { id: 'public', pathPrefix: '/', origin },
            ],
          });
          const text = await rawRequest(base, row.request, 1500);
          expect(statusesOf(text), text.slice(0, 300)).toEqual(row.statuses);
          // every answer carries a request id
          const ids = [...text.matchAll(/\r\nx-request-id: ([^\r]+)/gi)];
          expect(ids.length, 'x-request-id on every response').toBe(row.statuses.length);
          const reaches = row.reachesOrigin ?? row.statuses.some((s) => s < 300);
          if (!reaches) expect(urls, 'no origin reached').toEqual([]);
          row.seen?.(headers, urls);
          row.answer?.(text);
          // whatever the client sent, the origin's health is untouched
          const command = gateway.registry.commandMetrics()[0];
          expect(command?.cumulativeCounts.failure ?? 0).toBe(0);
          expect(command?.circuit).toBe('closed');
        });
      }
    });
  }
});
