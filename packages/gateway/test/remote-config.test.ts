import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { fetchConfigUrl } from '../src/config/remote.js';
import { gatewayMetric, get, named, onCleanup, startGateway, startOrigin, until } from './helpers.js';

describe('remote config: the version already in force', () => {
  it('does not reapply an unchanged config served without an ETag, and applies a change', async () => {
    const a = await startOrigin(named('A'));
    const b = await startOrigin(named('B'));
    let text = JSON.stringify({ routes: [{ id: 'r', pathPrefix: '/', origin: a }] });
    let polls = 0;
    const server = createServer((_req, res) => {
      polls++;
      res.writeHead(200, { 'content-type': 'application/json' }).end(text); // no ETag: versions are content hashes
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    onCleanup(async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    });
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/gateway.json`;

    const first = await fetchConfigUrl(url);
    expect(first.version).toMatch(/^sha256:/);
    const [gateway, base] = await startGateway(first.config as Parameters<typeof startGateway>[0]);
    let reloads = 0;
    gateway.watchConfigUrl(url, { intervalMs: 100, version: first.version, onReload: () => reloads++ });
    await until(() => polls >= 3);
    expect(reloads).toBe(0);
    expect(await gatewayMetric(gateway, 'backlot_gateway_config_reloads_total')).toBe(0);

    text = JSON.stringify({ routes: [{ id: 'r', pathPrefix: '/', origin: b }] });
    await until(() => reloads === 1);
    expect((await get(`${base}/x`)).text).toBe('B');
  });

  it('refuses a first config that is not JSON, naming the URL', async () => {
    const server = createServer((_req, res) => res.end('{"routes": ['));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    onCleanup(async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    });
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/gateway.json`;
    await expect(fetchConfigUrl(url)).rejects.toThrow(new RegExp(`${url.replace(/[.:/]/g, '\\$&')}: not valid JSON`));
  });
});
