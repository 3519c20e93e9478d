import { createHash } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { onCleanup, rawRequest, rawStatus, startGateway, until } from './helpers.js';

// ───────── a minimal RFC 6455 origin: handshake, unfragmented frames, echo, close ─────────

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

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
    const accept = createHash('sha1')
      .update(key + GUID)
      .digest('base64');
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
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onCleanup(async () => {
    for (const socket of sockets) socket.destroy();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  origin.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
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
    await until(() => /backlot_gateway_route_requests_total\{route="ws",code="1xx"\} 1/.test(gateway.metrics()));
  });
});
