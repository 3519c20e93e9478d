import { describe, expect, it } from 'vitest';
import { httpRequest, named, rawRequest, rawStatus, startGateway, startOrigin } from '../helpers.js';

const REQUEST_ID = /x-request-id: ([\w.:@-]+)/i;

/** Malformed requests of several kinds: each is the client's fault and must be answered 4xx with a request id. */
const MALFORMED: readonly (readonly [name: string, request: string])[] = [
  ['broken IPv6 Host', 'GET /api/x HTTP/1.1\r\nHost: [x\r\nConnection: close\r\n\r\n'],
  ['IPv6 Host without bracket end', 'GET /api/x HTTP/1.1\r\nHost: [::1\r\nConnection: close\r\n\r\n'],
  ['Host with a space', 'GET /api/x HTTP/1.1\r\nHost: a b\r\nConnection: close\r\n\r\n'],
  ['Host with a path', 'GET /api/x HTTP/1.1\r\nHost: a/b\r\nConnection: close\r\n\r\n'],
  ['Host with userinfo', 'GET /api/x HTTP/1.1\r\nHost: user@a\r\nConnection: close\r\n\r\n'],
  ['Host with a bad port', 'GET /api/x HTTP/1.1\r\nHost: a:99999\r\nConnection: close\r\n\r\n'],
  ['duplicate Host', 'GET /api/x HTTP/1.1\r\nHost: a\r\nHost: b\r\nConnection: close\r\n\r\n'],
  [
    'streamed body over the limit',
    `POST /api/x HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n\r\n800\r\n${'x'.repeat(2048)}\r\n0\r\n\r\n`,
  ],
  [
    'h2c upgrade',
    'GET /api/x HTTP/1.1\r\nHost: gw\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\nConnection: close\r\n\r\n',
  ],
  ['encoded slash', 'GET /api/%2f..%2fx HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n'],
];

describe('a client cannot harm an origin', () => {
  it('hundreds of malformed requests: each a 4xx with a request id; breaker closed, nothing ejected, then served', async () => {
    const hits = { a: 0, b: 0 };
    const a = await startOrigin((req, res) => {
      hits.a++;
      named('a')(req, res);
    });
    const b = await startOrigin((req, res) => {
      hits.b++;
      named('b')(req, res);
    });
    const [gateway, base] = await startGateway({
      server: { maxBodyBytes: 1024 },
      origins: { api: { servers: [a, b] } }, // default breaker (20 requests, 50 %) and outlier detection (5 in a row)
      routes: [{ id: 'api', pathPrefix: '/api', origin: 'api' }],
    });
    const statuses = new Map<string, number[]>();
    for (let round = 0; round < 30; round++) {
      await Promise.all(
        MALFORMED.map(async ([name, request]) => {
          const text = await rawRequest(base, request);
          const status = rawStatus(text);
          expect(status, `${name}: ${text.slice(0, 200)}`).toBeGreaterThanOrEqual(400);
          expect(status, name).toBeLessThan(500);
          expect(REQUEST_ID.exec(text)?.[1], `${name} has a request id`).toBeTruthy();
          const list = statuses.get(name) ?? [];
          list.push(status);
          statuses.set(name, list);
        }),
      );
    }
    expect(statuses.size).toBe(MALFORMED.length);
    const command = gateway.registry.commandMetrics().find((m) => m.key === 'gateway.origin.api');
    expect(command?.circuit).toBe('closed');
    expect(command?.cumulativeCounts.failure ?? 0).toBe(0);
    // Nothing ejected: round-robin still reaches both servers.
    const before = { ...hits };
    for (let i = 0; i < 10; i++) {
      const ok = await httpRequest(base, '/api/x');
      expect(ok.status).toBe(200);
    }
    expect(hits.a - before.a).toBe(5);
    expect(hits.b - before.b).toBe(5);
  });
});
