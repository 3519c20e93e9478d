import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { Agent, request } from 'undici';
import { describe, expect, it } from 'vitest';
import { echo, onCleanup, startGateway, startOrigin } from './helpers.js';

function selfSigned(dir: string, name: string): { certFile: string; keyFile: string } {
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-subj',
      `/CN=${name}`,
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-keyout',
      keyFile,
      '-out',
      certFile,
    ],
    { stdio: 'ignore' },
  );
  return { certFile, keyFile };
}

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
});
