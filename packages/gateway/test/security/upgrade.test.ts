import { createServer } from 'node:http';
import type { Duplex } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { listenUpgradeOrigin, rawRequest, rawStatus, startGateway, websocketAccept } from '../helpers.js';

const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';

interface TunnelOrigin {
  url: string;
  /** Upgrade tokens the origin was asked for. */
  upgrades: string[];
  /** Every byte the origin read inside tunnels. */
  tunnelled: string[];
}

/**
 * An origin that switches to whatever protocol it is asked for (as an h2c or
 * WebSocket server would) and then answers every HTTP/1.1 request it reads
 * inside the tunnel with `200 secret`: what an attacker gets once a tunnel is
 * spliced past the gateway's filters. `accept` chooses its 101's headers.
 */
async function startTunnelOrigin(
  accept: (token: string, key: string | undefined) => string = (token, key) =>
    `upgrade: ${token}\r\nconnection: Upgrade\r\n${key ? `sec-websocket-accept: ${websocketAccept(key)}\r\n` : ''}`,
): Promise<TunnelOrigin> {
  const origin: TunnelOrigin = { url: '', upgrades: [], tunnelled: [] };
  const sockets = new Set<Duplex>();
  const server = createServer((_req, res) => res.end('plain'));
  server.on('upgrade', (req, socket: Duplex, head: Buffer) => {
    const token = String(req.headers.upgrade);
    origin.upgrades.push(token);
    sockets.add(socket);
    socket.on('error', () => socket.destroy());
    socket.on('end', () => socket.end()); // upgrade sockets are half-open: close on the peer's FIN
    socket.on('close', () => sockets.delete(socket));
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r\n${accept(token, req.headers['sec-websocket-key'] as string)}\r\n`,
    );
    const onBytes = (bytes: Buffer) => {
      const text = bytes.toString('latin1');
      origin.tunnelled.push(text);
      if (/^(GET|POST) /m.test(text)) socket.write('HTTP/1.1 200 OK\r\ncontent-length: 6\r\n\r\nsecret');
    };
    if (head.length) onBytes(head);
    socket.on('data', onBytes);
  });
  origin.url = await listenUpgradeOrigin(server, sockets);
  return origin;
}

const ADMIN_KEY = 'admin-key-0123456789';

async function protectedGateway(origin: TunnelOrigin, publicRoute: Record<string, unknown> = {}) {
  const [, base] = await startGateway({
    routes: [
      { id: 'admin', pathPrefix: '/admin', origin: origin.url, filters: [{ type: 'apiKey', keys: [ADMIN_KEY] }] },
      { id: 'public', pathPrefix: '/', origin: origin.url, ...publicRoute },
    ],
  });
  return base;
}

const wsHeaders = `upgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-version: 13\r\nsec-websocket-key: ${KEY}\r\n`;

describe('upgrade tunnelling', () => {
  it('refuses h2c: no tunnel, and a request behind it never reaches the protected route', async () => {
    const origin = await startTunnelOrigin();
    const base = await protectedGateway(origin);
    const text = await rawRequest(
      base,
      'GET /public-path HTTP/1.1\r\nHost: gw\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\n' +
        'GET /admin/secret HTTP/1.1\r\nHost: gw\r\n\r\n',
    );
    expect(rawStatus(text)).toBe(400);
    expect(text).toMatch(/x-request-id: /i);
    expect(text).not.toContain('secret');
    expect(origin.upgrades).toEqual([]);
    expect(origin.tunnelled).toEqual([]);
  });

  it('refuses h2c even on a route that allow-lists other upgrade tokens (config refuses it at load)', async () => {
    const origin = await startTunnelOrigin();
    await expect(
      startGateway({ routes: [{ id: 'x', pathPrefix: '/', origin: origin.url, upgrades: ['websocket', 'h2c'] }] }),
    ).rejects.toThrow(/routes\[0\]\.upgrades.*h2c/s);
  });

  it('tunnels only websocket by default; other tokens need the route allow-list', async () => {
    const origin = await startTunnelOrigin();
    const base = await protectedGateway(origin);
    const custom = await rawRequest(
      base,
      'GET /chat HTTP/1.1\r\nHost: gw\r\nConnection: Upgrade\r\nUpgrade: custom-proto\r\n\r\nGET /admin/x HTTP/1.1\r\nHost: gw\r\n\r\n',
    );
    expect(rawStatus(custom)).toBe(400);
    expect(origin.upgrades).toEqual([]);

    const allowing = await startTunnelOrigin();
    const [, allowedBase] = await startGateway({
      routes: [{ id: 'custom', pathPrefix: '/', origin: allowing.url, upgrades: ['custom-proto'] }],
    });
    const allowed = await rawRequest(
      allowedBase,
      'GET /chat HTTP/1.1\r\nHost: gw\r\nConnection: Upgrade\r\nUpgrade: custom-proto\r\n\r\n',
      300,
    );
    expect(rawStatus(allowed)).toBe(101);
    expect(allowing.upgrades).toEqual(['custom-proto']);
  });

  it('requires Sec-WebSocket-Key and Sec-WebSocket-Version 13 on WebSocket upgrades, and GET', async () => {
    const origin = await startTunnelOrigin();
    const base = await protectedGateway(origin);
    const cases = [
      'GET /ws HTTP/1.1\r\nHost: gw\r\nupgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-version: 13\r\n\r\n',
      'GET /ws HTTP/1.1\r\nHost: gw\r\nupgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-key: short\r\nsec-websocket-version: 13\r\n\r\n',
      `GET /ws HTTP/1.1\r\nHost: gw\r\nupgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-key: ${KEY}\r\n\r\n`,
      `GET /ws HTTP/1.1\r\nHost: gw\r\nupgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-key: ${KEY}\r\nsec-websocket-version: 8\r\n\r\n`,
      `POST /ws HTTP/1.1\r\nHost: gw\r\ncontent-length: 0\r\n${wsHeaders}\r\n`,
    ];
    for (const request of cases) {
      const text = await rawRequest(base, `${request}GET /admin/x HTTP/1.1\r\nHost: gw\r\n\r\n`);
      expect(rawStatus(text), request).toBe(400);
      expect(text).not.toContain('secret');
    }
    expect(origin.upgrades).toEqual([]);
  });

  it("checks the origin's 101 (Upgrade token, Sec-WebSocket-Accept) before splicing", async () => {
    const wrongAccept = await startTunnelOrigin(
      (token) => `upgrade: ${token}\r\nconnection: Upgrade\r\nsec-websocket-accept: bm9wZQ==\r\n`,
    );
    const noAccept = await startTunnelOrigin((token) => `upgrade: ${token}\r\nconnection: Upgrade\r\n`);
    const otherToken = await startTunnelOrigin(
      (_token, key) =>
        `upgrade: h2c\r\nconnection: Upgrade\r\nsec-websocket-accept: ${websocketAccept(String(key))}\r\n`,
    );
    for (const origin of [wrongAccept, noAccept, otherToken]) {
      const [, base] = await startGateway({ routes: [{ id: 'ws', pathPrefix: '/', origin: origin.url }] });
      const text = await rawRequest(
        base,
        `GET /ws HTTP/1.1\r\nHost: gw\r\n${wsHeaders}\r\nGET /admin/x HTTP/1.1\r\nHost: gw\r\n\r\n`,
      );
      expect(rawStatus(text)).toBe(502);
      expect(text).not.toContain('secret');
      expect(text).not.toContain('127.0.0.1');
      expect(origin.upgrades).toEqual(['websocket']);
    }
  });

  it('still splices a valid WebSocket handshake', async () => {
    const origin = await startTunnelOrigin();
    const base = await protectedGateway(origin);
    const text = await rawRequest(base, `GET /ws HTTP/1.1\r\nHost: gw\r\n${wsHeaders}\r\n`, 300);
    expect(rawStatus(text)).toBe(101);
    expect(text).toMatch(/sec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK\+xOo=/i);
  });
});
