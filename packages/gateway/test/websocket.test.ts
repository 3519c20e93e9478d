import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { type ClientHttp2Stream, connect as connectH2, type IncomingHttpHeaders as H2Headers } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { selfSigned } from './certs.js';
import {
  gatewayMetric,
  listenUpgradeOrigin,
  onCleanup,
  rawRequest,
  rawStatus,
  startGateway,
  until,
  websocketAccept,
} from './helpers.js';

// ───────── a minimal RFC 6455 origin: handshake, unfragmented frames, echo, close ─────────

function frame(opcode: number, payload: Buffer): Buffer {
  const length = payload.length;
  const head =
    length < 126
      ? Buffer.from([0x80 | opcode, length])
      : length < 65536
        ? Buffer.from([0x80 | opcode, 126, length >> 8, length & 0xff])
        : Buffer.concat([Buffer.from([0x80 | opcode, 127]), bigLength(length)]);
  return Buffer.concat([head, payload]);
}

/** A client frame: masked, as RFC 6455 requires of clients. */
function maskedFrame(opcode: number, payload: Buffer): Buffer {
  const plain = frame(opcode, payload);
  const headLength = plain.length - payload.length;
  const mask = randomBytes(4);
  const masked = Buffer.from(payload);
  for (let i = 0; i < masked.length; i++) masked[i] = (masked[i] as number) ^ (mask[i % 4] as number);
  const head = Buffer.from(plain.subarray(0, headLength));
  head[1] = (head[1] as number) | 0x80;
  return Buffer.concat([head, mask, masked]);
}

function bigLength(length: number): Buffer {
  const out = Buffer.alloc(8);
  out.writeBigUInt64BE(BigInt(length));
  return out;
}

/** Reads client frames (masked) from a socket. */
function onFrames(socket: Duplex, head: Buffer, handle: (opcode: number, payload: Buffer) => void): void {
  let buffer = head;
  const parse = () => {
    while (buffer.length >= 2) {
      const opcode = (buffer[0] as number) & 0x0f;
      const masked = ((buffer[1] as number) & 0x80) !== 0;
      let length = (buffer[1] as number) & 0x7f;
      let offset = 2;
      if (length === 126) {
        if (buffer.length < 4) return;
        length = buffer.readUInt16BE(2);
        offset = 4;
      } else if (length === 127) {
        if (buffer.length < 10) return;
        length = Number(buffer.readBigUInt64BE(2));
        offset = 10;
      }
      const mask = masked ? buffer.subarray(offset, offset + 4) : undefined;
      if (masked) offset += 4;
      if (buffer.length < offset + length) return;
      const payload = Buffer.from(buffer.subarray(offset, offset + length));
      if (mask) for (let i = 0; i < payload.length; i++) payload[i] = (payload[i] as number) ^ (mask[i % 4] as number);
      buffer = buffer.subarray(offset + length);
      handle(opcode, payload);
    }
  };
  socket.on('data', (chunk: Buffer) => {
    buffer = Buffer.concat([buffer, chunk]);
    parse();
  });
  parse();
}

interface WsOrigin {
  url: string;
  upgrades: IncomingHttpHeaders[];
  events: string[];
}

/** An origin that greets, echoes text frames (`close-me` makes it close first) and answers close frames. */
async function startWsOrigin(refuse = false): Promise<WsOrigin> {
  const origin: WsOrigin = { url: '', upgrades: [], events: [] };
  const sockets = new Set<Duplex>();
  const server = createServer((_req, res) => res.end('plain'));
  server.on('upgrade', (req, socket: Duplex, head: Buffer) => {
    origin.upgrades.push(req.headers);
    sockets.add(socket);
    socket.on('end', () => socket.end()); // node:http upgrade sockets are half-open: close on the peer's FIN
    socket.on('close', () => {
      origin.events.push('socket-closed');
      sockets.delete(socket);
    });
    if (refuse) {
      socket.end('HTTP/1.1 403 Forbidden\r\ncontent-type: text/plain\r\ncontent-length: 4\r\n\r\nnope');
      return;
    }
    const key = String(req.headers['sec-websocket-key']);
    const accept = websocketAccept(key);
    const protocol = String(req.headers['sec-websocket-protocol'] ?? '')
      .split(',')[0]
      ?.trim();
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-accept: ${accept}\r\n${
        protocol ? `sec-websocket-protocol: ${protocol}\r\n` : ''
      }\r\n`,
    );
    socket.write(frame(1, Buffer.from('hello')));
    onFrames(socket, head, (opcode, payload) => {
      if (opcode === 8) {
        origin.events.push(`close-frame:${payload.length >= 2 ? payload.readUInt16BE(0) : 0}`);
        socket.end(frame(8, payload.subarray(0, 2)));
        return;
      }
      if (opcode !== 1) return;
      const text = payload.toString();
      if (text === 'close-me') {
        const code = Buffer.alloc(2);
        code.writeUInt16BE(4000);
        socket.write(frame(8, code));
        return;
      }
      socket.write(frame(1, Buffer.from(`echo:${text}`)));
    });
  });
  origin.url = await listenUpgradeOrigin(server, sockets);
  return origin;
}

/** A WebSocket client (Node's global one) with a message queue. */
async function openWs(url: string, protocols?: string[]) {
  const ws = new WebSocket(url, protocols);
  const messages: string[] = [];
  const waiters: (() => void)[] = [];
  ws.addEventListener('message', (event) => {
    messages.push(String(event.data));
    for (const wake of waiters.splice(0)) wake();
  });
  const closed = new Promise<{ code: number }>((resolve) => ws.addEventListener('close', (e) => resolve(e)));
  await new Promise<void>((resolve, reject) => {
    ws.addEventListener('open', () => resolve(), { once: true });
    ws.addEventListener('error', () => reject(new Error('websocket failed')), { once: true });
  });
  const next = async (): Promise<string> => {
    while (messages.length === 0) await new Promise<void>((resolve) => waiters.push(resolve));
    return messages.shift() as string;
  };
  onCleanup(async () => ws.close());
  return { ws, next, closed };
}

const wsUrl = (base: string, path: string) => `${base.replace(/^http/, 'ws')}${path}`;

const upgradeRequest = (path: string, headers = '') =>
  `GET ${path} HTTP/1.1\r\nhost: localhost\r\nupgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-version: 13\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n${headers}\r\n`;

describe('WebSocket pass-through', () => {
  it('proxies a WebSocket both ways after the inbound filters, and passes the client close on', async () => {
    const origin = await startWsOrigin();
    const [, base] = await startGateway({
      filters: [{ type: 'requestId' }],
      routes: [{ id: 'ws', pathPrefix: '/ws', origin: origin.url, stripPrefix: true }],
    });
    const { ws, next, closed } = await openWs(wsUrl(base, '/ws/chat?room=1'), ['chat', 'other']);
    expect(ws.protocol).toBe('chat');
    expect(await next()).toBe('hello'); // origin → client without a client message first
    for (const text of ['a', 'b', 'c']) {
      ws.send(text);
      expect(await next()).toBe(`echo:${text}`);
    }
    const big = 'x'.repeat(200_000); // several TCP segments each way
    ws.send(big);
    expect(await next()).toBe(`echo:${big}`);

    const seen = origin.upgrades[0] as IncomingHttpHeaders;
    expect(seen['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(seen.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect(seen['x-forwarded-for']).toBe('127.0.0.1');
    expect(seen.upgrade).toBe('websocket');

    ws.close(1000);
    expect((await closed).code).toBe(1000);
    await until(() => origin.events.includes('close-frame:1000') && origin.events.includes('socket-closed'));
  });

  it("passes the origin's close to the client", async () => {
    const origin = await startWsOrigin();
    const [, base] = await startGateway({ routes: [{ id: 'ws', pathPrefix: '/', origin: origin.url }] });
    const { ws, next, closed } = await openWs(wsUrl(base, '/'));
    expect(await next()).toBe('hello');
    ws.send('close-me');
    expect((await closed).code).toBe(4000);
    await until(() => origin.events.includes('socket-closed'));
  });

  it('answers auth and rate limits on upgrades before the origin is reached', async () => {
    const origin = await startWsOrigin();
    const [, base] = await startGateway({
      routes: [
        {
          id: 'ws',
          pathPrefix: '/',
          origin: origin.url,
          filters: [
            { type: 'apiKey', keys: ['k-1234567890abcdef'] },
            { type: 'rateLimit', key: 'apiKey', capacity: 1, refillPerSecond: 0.001 },
          ],
        },
      ],
    });
    const denied = await rawRequest(base, upgradeRequest('/'));
    expect(rawStatus(denied)).toBe(401);
    expect(denied).toMatch(/"error":"unauthorized"/);
    expect(denied.toLowerCase()).toMatch(/x-request-id: /);

    const first = await rawRequest(base, upgradeRequest('/', 'x-api-key: k-1234567890abcdef\r\n'), 300);
    expect(rawStatus(first)).toBe(101);
    expect(first).toMatch(/sec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK\+xOo=/);

    const limited = await rawRequest(base, upgradeRequest('/', 'x-api-key: k-1234567890abcdef\r\n'));
    expect(rawStatus(limited)).toBe(429);
    expect(origin.upgrades).toHaveLength(1);
    expect(origin.upgrades[0]?.['x-api-key']).toBeUndefined(); // the key is not forwarded
  });

  it("relays an origin's refusal of the upgrade, and 502 when the origin is down", async () => {
    const origin = await startWsOrigin(true);
    const [, base] = await startGateway({
      origins: { down: { servers: ['http://127.0.0.1:1'], retry: { maxAttempts: 1 } } },
      routes: [
        { id: 'down', pathPrefix: '/down', origin: 'down' },
        { id: 'ws', pathPrefix: '/', origin: origin.url },
      ],
    });
    const refused = await rawRequest(base, upgradeRequest('/'));
    expect(rawStatus(refused)).toBe(403);
    expect(refused.endsWith('\r\n\r\nnope')).toBe(true);
    expect(rawStatus(await rawRequest(base, upgradeRequest('/down')))).toBe(502);
    expect(rawStatus(await rawRequest(base, upgradeRequest('/%2fadmin')))).toBe(400);
  });

  it('closes open WebSockets on gateway.close()', async () => {
    const origin = await startWsOrigin();
    const [gateway, base] = await startGateway({ routes: [{ id: 'ws', pathPrefix: '/', origin: origin.url }] });
    const { next, closed } = await openWs(wsUrl(base, '/'));
    expect(await next()).toBe('hello');
    await gateway.close({ timeoutMs: 100 });
    expect((await closed).code).toBe(1006);
    await until(() => origin.events.includes('socket-closed'));
    // Counted once closed: the gateway named in `gateways` keeps its final counts after close().
    await until(
      async () =>
        (await gatewayMetric(gateway, 'backlot_gateway_requests_total', { route: 'ws', status_class: '1xx' })) === 1,
    );
  });
});

/** A free loopback port with nothing listening on it (connections are refused). */
async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('WebSocket upgrade retries', () => {
  it('retries a handshake on another server when the first refuses the connection', async () => {
    const origin = await startWsOrigin();
    const dead = `http://127.0.0.1:${await deadPort()}`;
    const [gateway, base] = await startGateway({
      origins: {
        ws: {
          servers: [dead, origin.url],
          // Keep the dead server in rotation: every other handshake tries it first.
          outlierDetection: { enabled: false },
          circuitBreaker: { enabled: false },
        },
      },
      routes: [{ id: 'ws', pathPrefix: '/', origin: 'ws' }],
    });
    for (let i = 0; i < 6; i++) {
      const { ws, next, closed } = await openWs(wsUrl(base, `/chat/${i}`));
      expect(await next()).toBe('hello');
      ws.send(`n${i}`);
      expect(await next()).toBe(`echo:n${i}`);
      ws.close(1000);
      await closed;
    }
    expect(origin.upgrades).toHaveLength(6);
    expect(
      await gatewayMetric(gateway, 'backlot_gateway_origin_retries_total', { origin: 'ws' }),
    ).toBeGreaterThanOrEqual(3);
  });

  it('does not retry when the origin has one attempt, or the route turns retries off', async () => {
    const origin = await startWsOrigin();
    const dead = `http://127.0.0.1:${await deadPort()}`;
    const servers = [dead, origin.url];
    const keep = { outlierDetection: { enabled: false }, circuitBreaker: { enabled: false } };
    const [, base] = await startGateway({
      origins: {
        once: { servers, ...keep, retry: { maxAttempts: 1 } },
        twice: { servers, ...keep },
      },
      routes: [
        { id: 'once', pathPrefix: '/once', origin: 'once' },
        { id: 'off', pathPrefix: '/off', origin: 'twice', retry: false },
      ],
    });
    for (const prefix of ['/once', '/off']) {
      const statuses = new Set<number>();
      for (let i = 0; i < 4; i++) statuses.add(rawStatus(await rawRequest(base, upgradeRequest(prefix), 200)));
      expect([...statuses].sort()).toEqual([101, 502]);
    }
  });
});

// ───────── WebSockets over HTTP/2 (RFC 8441) ─────────

interface H2Ws {
  stream: ClientHttp2Stream;
  status: number;
  headers: H2Headers;
  /** The answer's body, when the gateway did not open a tunnel. */
  body: () => Promise<string>;
  next: () => Promise<{ opcode: number; payload: Buffer }>;
  send: (text: string) => void;
}

/** A TLS + HTTP/2 gateway and an HTTP/2 session to it that waited for the server's SETTINGS. */
async function h2Gateway(config: Parameters<typeof startGateway>[0]) {
  const dir = mkdtempSync(join(tmpdir(), 'backlot-ws-h2-'));
  onCleanup(async () => rmSync(dir, { recursive: true, force: true }));
  const tls = selfSigned(dir, 'gateway');
  const [gateway, base] = await startGateway({ ...config, server: { tls, http2: true } });
  const authority = `127.0.0.1:${new URL(base).port}`;
  const session = connectH2(`https://${authority}`, { ca: readFileSync(tls.certFile) });
  onCleanup(async () => {
    session.destroy(); // before the gateway closes (cleanups run last first)
  });
  const settings = await new Promise<{ enableConnectProtocol?: boolean | undefined }>((resolve, reject) => {
    session.once('remoteSettings', resolve);
    session.once('error', reject);
  });
  /** Opens an extended CONNECT stream (`:protocol` websocket unless given). */
  const open = async (path: string, headers: Record<string, string> = {}): Promise<H2Ws> => {
    const stream = session.request(
      {
        ':method': 'CONNECT',
        ':protocol': 'websocket',
        ':scheme': 'https',
        ':path': path,
        ':authority': authority,
        'sec-websocket-version': '13',
        ...headers,
      },
      { endStream: false },
    );
    const response = await new Promise<H2Headers>((resolve, reject) => {
      stream.once('response', resolve);
      stream.once('error', reject);
    });
    const frames: { opcode: number; payload: Buffer }[] = [];
    const waiters: (() => void)[] = [];
    const status = Number(response[':status']);
    let text = '';
    const ended = new Promise<void>((resolve) => stream.once('end', resolve));
    if (status === 200) {
      onFrames(stream, Buffer.alloc(0), (opcode, payload) => {
        frames.push({ opcode, payload });
        for (const wake of waiters.splice(0)) wake();
      });
    } else {
      stream.on('data', (chunk: Buffer) => {
        text += chunk.toString();
      });
    }
    stream.resume();
    return {
      stream,
      status,
      headers: response,
      body: async () => {
        await ended;
        return text;
      },
      next: async () => {
        while (frames.length === 0) await new Promise<void>((resolve) => waiters.push(resolve));
        return frames.shift() as { opcode: number; payload: Buffer };
      },
      send: (message: string) => stream.write(maskedFrame(1, Buffer.from(message))),
    };
  };
  return { gateway, settings, open, session, authority };
}

describe('WebSockets over HTTP/2 (RFC 8441 extended CONNECT)', () => {
  it('bridges an extended CONNECT to the origin as an HTTP/1.1 upgrade, through the filters, frames both ways', async () => {
    const origin = await startWsOrigin();
    const { settings, open, authority } = await h2Gateway({
      filters: [{ type: 'requestId' }],
      routes: [
        {
          id: 'ws',
          pathPrefix: '/ws',
          host: '127.0.0.1', // matched on :authority
          origin: origin.url,
          stripPrefix: true,
          methods: ['GET'], // the HTTP/1.1 equivalent of the CONNECT is a GET
          filters: [{ type: 'apiKey', keys: ['k-1234567890abcdef'] }],
        },
      ],
    });
    expect(settings.enableConnectProtocol).toBe(true);

    const denied = await open('/ws/chat');
    expect(denied.status).toBe(401);
    expect(JSON.parse(await denied.body())).toMatchObject({ error: 'unauthorized' });
    expect(denied.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(origin.upgrades).toHaveLength(0);

    const ws = await open('/ws/chat?room=1', {
      'x-api-key': 'k-1234567890abcdef',
      'sec-websocket-protocol': 'chat, other',
    });
    expect(ws.status).toBe(200);
    expect(ws.headers['sec-websocket-protocol']).toBe('chat');
    expect(ws.headers['sec-websocket-accept']).toBeUndefined();
    expect(ws.headers.upgrade).toBeUndefined();

    const hello = await ws.next();
    expect([hello.opcode, hello.payload.toString()]).toEqual([1, 'hello']);
    for (const text of ['a', 'b', 'x'.repeat(200_000)]) {
      ws.send(text);
      const echoed = await ws.next();
      expect(echoed.payload.toString()).toBe(`echo:${text}`);
    }

    const seen = origin.upgrades[0] as IncomingHttpHeaders;
    expect(origin.upgrades).toHaveLength(1);
    expect(seen.upgrade).toBe('websocket');
    expect(seen['sec-websocket-key']).toMatch(/^[A-Za-z0-9+/]{22}==$/);
    expect(seen['sec-websocket-version']).toBe('13');
    expect(seen['sec-websocket-protocol']).toBe('chat, other');
    expect(seen['x-api-key']).toBeUndefined();
    expect(seen['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(seen.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect(seen['x-forwarded-proto']).toBe('https');
    expect(seen.host).toBe(authority); // as an HTTP/1.1 client's Host would be
    expect(seen['x-forwarded-host']).toBe(authority);
    expect(seen['x-forwarded-for']).toBe('127.0.0.1');

    const code = Buffer.alloc(2);
    code.writeUInt16BE(1000);
    ws.stream.write(maskedFrame(8, code));
    const closing = await ws.next();
    expect([closing.opcode, closing.payload.readUInt16BE(0)]).toEqual([8, 1000]);
    ws.stream.end();
    await new Promise((resolve) => ws.stream.once('close', resolve));
    await until(() => origin.events.includes('close-frame:1000') && origin.events.includes('socket-closed'));
  });

  it("passes the origin's close to the HTTP/2 stream, and gateway.close() closes open ones", async () => {
    const origin = await startWsOrigin();
    const { gateway, open } = await h2Gateway({ routes: [{ id: 'ws', pathPrefix: '/', origin: origin.url }] });
    const first = await open('/');
    expect((await first.next()).payload.toString()).toBe('hello');
    first.send('close-me');
    const closing = await first.next();
    expect([closing.opcode, closing.payload.readUInt16BE(0)]).toEqual([8, 4000]);
    first.stream.end(maskedFrame(8, closing.payload));
    await new Promise((resolve) => first.stream.once('close', resolve));

    const second = await open('/');
    expect((await second.next()).payload.toString()).toBe('hello');
    const closed = new Promise((resolve) => second.stream.once('close', resolve));
    void gateway.close({ timeoutMs: 100 });
    await closed;
    await until(() => origin.events.filter((event) => event === 'socket-closed').length === 2);
  });

  it('answers with the right HTTP/2 status: no route, origin down, refusal, unsupported CONNECTs', async () => {
    const refusing = await startWsOrigin(true);
    const { open, session } = await h2Gateway({
      origins: { down: { servers: [`http://127.0.0.1:${await deadPort()}`], retry: { maxAttempts: 1 } } },
      routes: [
        { id: 'down', pathPrefix: '/down', origin: 'down' },
        { id: 'refused', pathPrefix: '/refused', origin: refusing.url },
      ],
    });
    const noRoute = await open('/nowhere');
    expect(noRoute.status).toBe(404);
    expect(JSON.parse(await noRoute.body())).toMatchObject({ error: 'no_route' });

    const down = await open('/down');
    expect(down.status).toBe(502);
    expect(JSON.parse(await down.body())).toMatchObject({ error: 'origin_unavailable' });

    const refused = await open('/refused');
    expect(refused.status).toBe(403);
    expect(refused.headers['content-type']).toBe('text/plain');
    expect(await refused.body()).toBe('nope');

    const badPath = await open('/%2fadmin');
    expect(badPath.status).toBe(400);

    const other = await open('/refused', { ':protocol': 'connect-udp' });
    expect(other.status).toBe(501);
    expect(JSON.parse(await other.body())).toMatchObject({ error: 'not_implemented' });

    const proxy = session.request({ ':method': 'CONNECT', ':authority': 'example.com:443' });
    const status = await new Promise<number>((resolve) => proxy.once('response', (h) => resolve(Number(h[':status']))));
    expect(status).toBe(405);
    proxy.resume();

    // The refused exchanges closed their streams although the client never ended its side.
    for (const answered of [noRoute, down, refused, badPath, other]) {
      await until(() => answered.stream.closed);
    }
  });
});
