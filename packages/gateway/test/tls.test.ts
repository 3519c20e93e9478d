import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { connect as http2Connect } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { Agent, request } from 'undici';
import { describe, expect, it } from 'vitest';
import { websocketAccept } from '../src/security/upgrade-policy.js';
import { selfSigned } from './certs.js';
import { echo, onCleanup, startGateway, startOrigin } from './helpers.js';

function peerCommonName(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] }, () => {
      resolve(String(socket.getPeerCertificate().subject.CN));
      socket.end();
    });
    socket.on('error', reject);
  });
}

describe('TLS and HTTP/2 at the edge', () => {
  it('terminates TLS with HTTP/2 and HTTP/1.1 on one port, and reloads the certificate without a restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'backlot-tls-'));
    onCleanup(async () => rmSync(dir, { recursive: true, force: true }));
    const tls = selfSigned(dir, 'first');
    const api = await startOrigin(echo);
    const [gateway, base] = await startGateway({
      server: { tls, http2: true },
      routes: [{ id: 'api', pathPrefix: '/', origin: api }],
    });
    const address = Number(new URL(base).port);
    const h2 = new Agent({ allowH2: true, connect: { rejectUnauthorized: false } });
    const h1 = new Agent({ allowH2: false, connect: { rejectUnauthorized: false } });
    onCleanup(async () => {
      await h2.close();
      await h1.close();
    });
    const viaH2 = await request(`https://127.0.0.1:${address}/x`, { dispatcher: h2 });
    const seenH2 = (await viaH2.body.json()) as { url: string; headers: Record<string, string> };
    expect(seenH2.url).toBe('/x');
    expect(seenH2.headers['x-forwarded-proto']).toBe('https');
    expect(Object.keys(seenH2.headers).some((name) => name.startsWith(':'))).toBe(false);
    const viaH1 = await request(`https://127.0.0.1:${address}/y`, { dispatcher: h1 });
    expect(((await viaH1.body.json()) as { url: string }).url).toBe('/y');

    expect(await peerCommonName(address)).toBe('first');
    selfSigned(dir, 'second');
    gateway.reloadCertificates();
    expect(await peerCommonName(address)).toBe('second');
  });

  it('matches host routes on HTTP/2 requests by their :authority', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'backlot-tls-'));
    onCleanup(async () => rmSync(dir, { recursive: true, force: true }));
    const tv = await startOrigin((_req, res) => res.end('tv'));
    const web = await startOrigin((_req, res) => res.end('web'));
    const [, base] = await startGateway({
      server: { tls: selfSigned(dir, 'hosts'), http2: true },
      routes: [
        { id: 'tv', pathPrefix: '/', host: 'tv.play.local', origin: tv },
        { id: 'web', pathPrefix: '/', origin: web },
      ],
    });
    const session = http2Connect(`https://127.0.0.1:${new URL(base).port}`, { rejectUnauthorized: false });
    onCleanup(async () => {
      session.close();
    });
    const get = (authority: string) =>
      new Promise<string>((resolve, reject) => {
        const stream = session.request({ ':path': '/', ':authority': authority });
        let body = '';
        stream.setEncoding('utf8');
        stream.on('data', (chunk: string) => {
          body += chunk;
        });
        stream.on('end', () => resolve(body));
        stream.on('error', reject);
      });
    expect(await get(`tv.play.local:${new URL(base).port}`)).toBe('tv');
    expect(await get('TV.PLAY.LOCAL')).toBe('tv');
    expect(await get(`www.play.local:${new URL(base).port}`)).toBe('web');
  });

  it('passes WebSocket upgrades through TLS on the HTTP/2 port (HTTP/1.1 by ALPN)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'backlot-tls-'));
    onCleanup(async () => rmSync(dir, { recursive: true, force: true }));
    // An origin that accepts any upgrade and echoes the raw bytes that follow.
    const origin = createServer((_req, res) => res.end());
    origin.on('upgrade', (req, socket) => {
      const accept = websocketAccept(String(req.headers['sec-websocket-key']));
      socket.write(
        `HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-accept: ${accept}\r\n\r\n`,
      );
      socket.pipe(socket);
    });
    await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
    onCleanup(async () => {
      origin.closeAllConnections();
      await new Promise((resolve) => origin.close(resolve));
    });
    const [, base] = await startGateway({
      server: { tls: selfSigned(dir, 'ws'), http2: true },
      routes: [{ id: 'ws', pathPrefix: '/', origin: `http://127.0.0.1:${(origin.address() as AddressInfo).port}` }],
    });
    const received = await new Promise<string>((resolve, reject) => {
      const socket = connect({
        host: '127.0.0.1',
        port: Number(new URL(base).port),
        rejectUnauthorized: false,
        ALPNProtocols: ['http/1.1'],
      });
      let text = '';
      let upgraded = false;
      socket.on('data', (chunk: Buffer) => {
        text += chunk.toString('latin1');
        if (!upgraded && text.includes('\r\n\r\n')) {
          upgraded = true;
          socket.write('ping');
        }
        if (text.endsWith('ping')) {
          socket.end();
          resolve(text);
        }
      });
      socket.on('error', reject);
      socket.write(
        'GET /chat HTTP/1.1\r\nhost: 127.0.0.1\r\nupgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-version: 13\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
      );
    });
    expect(received).toMatch(/^HTTP\/1\.1 101 Switching Protocols\r\n/);
    expect(received.toLowerCase()).toMatch(/\r\nupgrade: websocket\r\n/);
  });
});
