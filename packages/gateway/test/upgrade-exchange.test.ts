import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { type AddressInfo, connect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createGateway } from '../src/index.js';
import {
  httpRequest,
  listenUpgradeOrigin,
  onCleanup,
  rawRequest,
  rawStatus,
  startGateway,
  until,
  websocketAccept,
} from './helpers.js';

/** A release valve: `wait()` resolves once `open()` was called. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { open, wait: () => opened };
}

/**
 * A real WebSocket origin at the handshake level: it answers `101` with the
 * right `Sec-WebSocket-Accept` once `handshakes` lets it, then echoes every
 * byte it reads prefixed with `echo:`. Plain requests wait for `requests`.
 */
async function startOrigin(handshakes = gate(), requests = gate()) {
  const sockets = new Set<Duplex>();
  const seen = { upgrades: 0, requests: 0 };
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    seen.requests++;
    req.resume();
    void requests.wait().then(() => res.end('done'));
  });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex) => {
    seen.upgrades++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('end', () => socket.end());
    void handshakes.wait().then(() => {
      socket.write(
        `HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-accept: ${websocketAccept(String(req.headers['sec-websocket-key']))}\r\n\r\n`,
      );
      socket.on('data', (chunk: Buffer) => socket.write(`echo:${chunk.toString()}`));
    });
  });
  const url = await listenUpgradeOrigin(server, sockets);
  return { url, seen, handshakes, requests };
}

const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
const upgradeHead = (path: string) =>
  `GET ${path} HTTP/1.1\r\nhost: localhost\r\nupgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-version: 13\r\nsec-websocket-key: ${KEY}\r\n\r\n`;

/** Opens an upgrade on a raw socket: `text()` is everything read so far. */
function openUpgrade(base: string, path: string) {
  const socket: Socket = connect(Number(new URL(base).port), '127.0.0.1');
  let text = '';
  socket.on('data', (chunk: Buffer) => {
    text += chunk.toString('latin1');
  });
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  socket.on('error', () => {});
  socket.write(upgradeHead(path));
  onCleanup(async () => {
    socket.destroy();
  });
  return { socket, text: () => text, closed };
}

/** One gauge of the admin `/metrics` text, or 0 when it has no sample. */
async function gauge(adminUrl: string, name: string): Promise<number> {
  const text = await (await fetch(`${adminUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  return line === undefined ? 0 : Number(line.split(' ').pop());
}

describe('upgrades are exchanges like requests', () => {
  it('the gateway-wide adaptive limit counts a handshake: it sheds requests, and requests shed it', async () => {
    const origin = await startOrigin();
    const [, base] = await startGateway({
      concurrencyLimit: { algorithm: 'aimd', initialLimit: 1, maxConcurrency: 1 },
      routes: [{ id: 'ws', pathPrefix: '/', origin: origin.url }],
    });
    // A handshake waiting for its 101 holds the only slot: a request is shed.
    const ws = openUpgrade(base, '/chat');
    await until(() => origin.seen.upgrades === 1);
    const shed = await httpRequest(base, '/x');
    expect(shed.status).toBe(503);
    expect(JSON.parse(shed.text)).toMatchObject({ error: 'overloaded' });
    expect(origin.seen.requests).toBe(0);

    // The 101 gives the slot back (a tunnel is no latency sample): the tunnel works, a request gets through.
    origin.handshakes.open();
    await until(() => ws.text().includes('\r\n\r\n'));
    expect(rawStatus(ws.text())).toBe(101);
    ws.socket.write('ping');
    await until(() => ws.text().endsWith('echo:ping'));
    origin.requests.open();
    expect((await httpRequest(base, '/y')).status).toBe(200);

    // A request in flight holds the slot: an upgrade is shed before the origin sees it.
    const slow = gate();
    const held = await startOrigin(gate(), slow);
    const [, second] = await startGateway({
      concurrencyLimit: { algorithm: 'aimd', initialLimit: 1, maxConcurrency: 1 },
      routes: [{ id: 'any', pathPrefix: '/', origin: held.url }],
    });
    const pending = httpRequest(second, '/slow');
    await until(() => held.seen.requests === 1);
    const refused = await rawRequest(second, upgradeHead('/chat'));
    expect(rawStatus(refused)).toBe(503);
    expect(refused).toContain('"error":"overloaded"');
    expect(held.seen.upgrades).toBe(0);
    slow.open();
    expect((await pending).status).toBe(200);
  });

  it('counts an upgrade in flight from its handshake until its tunnel closes', async () => {
    const origin = await startOrigin();
    const [gateway, base] = await startGateway({ routes: [{ id: 'ws', pathPrefix: '/', origin: origin.url }] });
    const { port } = await gateway.listenAdmin({ port: 0 });
    const admin = `http://127.0.0.1:${port}`;
    expect(await gauge(admin, 'backlot_gateway_inflight')).toBe(0);
    const ws = openUpgrade(base, '/chat');
    await until(() => origin.seen.upgrades === 1);
    expect(await gauge(admin, 'backlot_gateway_inflight')).toBe(1); // the handshake
    origin.handshakes.open();
    await until(() => rawStatus(ws.text()) === 101);
    expect(await gauge(admin, 'backlot_gateway_inflight')).toBe(1); // the open tunnel
    expect(await gauge(admin, 'backlot_gateway_route_inflight')).toBe(1);
    ws.socket.end();
    await ws.closed;
    await until(async () => (await gauge(admin, 'backlot_gateway_inflight')) === 0);
    expect(await gauge(admin, 'backlot_gateway_route_inflight')).toBe(0);
  });

  it('drains upgrades with requests: open tunnels keep working until the deadline, new upgrades get 503', async () => {
    const origin = await startOrigin();
    origin.handshakes.open();
    const gateway = createGateway({ routes: [{ id: 'ws', pathPrefix: '/', origin: origin.url }] });
    // Mounted on a server of our own, which keeps accepting during the drain (as behind a load balancer).
    const server = createServer(gateway.handler).on('upgrade', gateway.upgradeHandler);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    onCleanup(async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await gateway.close({ timeoutMs: 100 });
    });

    const slow = openUpgrade(base, '/slow');
    const tunnel = openUpgrade(base, '/chat');
    await until(() => rawStatus(tunnel.text()) === 101 && rawStatus(slow.text()) === 101);

    let closed = false;
    const closing = gateway.close({ timeoutMs: 60_000 }).then(() => {
      closed = true;
    });
    // In flight: the tunnel still carries bytes, and close() waits for it.
    tunnel.socket.write('during-drain');
    await until(() => tunnel.text().endsWith('echo:during-drain'));
    // A request is served and its connection closed; a new upgrade is refused.
    origin.requests.open();
    const served = await httpRequest(base, '/plain');
    expect(served.status).toBe(200);
    expect(served.headers.connection).toBe('close');
    const refused = await rawRequest(base, upgradeHead('/late'));
    expect(rawStatus(refused)).toBe(503);
    expect(refused).toContain('"error":"shutting_down"');
    expect(origin.seen.upgrades).toBe(2);
    expect(closed).toBe(false);
    // The last tunnel closing ends the drain, well before its deadline.
    tunnel.socket.end();
    slow.socket.end();
    await closing;
    expect(closed).toBe(true);
  });
});
