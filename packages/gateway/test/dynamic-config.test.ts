import { createHash } from 'node:crypto';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type ConfigObjectStore, createGateway, type GatewayConfigInput, isInvalidConfigError } from '../src/index.js';
import { gatewayMetric, get, named, onCleanup, startGateway, startOrigin, until } from './helpers.js';

describe('dynamic config', () => {
  it('rejects an invalid reload with a precise error and keeps serving the old config', async () => {
    const v1 = await startOrigin(named('v1'));
    const v2 = await startOrigin(named('v2'));
    const [gateway, base] = await startGateway({
      origins: { api: { servers: [v1] } },
      routes: [{ id: 'api', pathPrefix: '/', origin: 'api' }],
    });
    let caught: unknown;
    try {
      gateway.reload({ origins: { api: { servers: [v2] } }, routes: [{ id: 'api', pathPrefix: '/', origin: 'nope' }] });
    } catch (error) {
      caught = error;
    }
    expect(isInvalidConfigError(caught)).toBe(true);
    expect((caught as { issues: string[] }).issues).toEqual([
      "routes[0].origin: unknown origin 'nope': define it under origins, or use an http(s) URL",
    ]);
    expect((await get(`${base}/`)).text).toBe('v1');
    gateway.reload({ origins: { api: { servers: [v2] } }, routes: [{ id: 'api', pathPrefix: '/', origin: 'api' }] });
    expect((await get(`${base}/`)).text).toBe('v2');
    expect(await gatewayMetric(gateway, 'backlot_gateway_config_reloads_total')).toBe(1);
    expect(await gatewayMetric(gateway, 'backlot_gateway_config_reload_failures_total')).toBe(1);
  });

  it('finishes requests in flight on the old config while new requests use the new one', async () => {
    const release: (() => void)[] = [];
    const slow = await startOrigin((_req, res) => release.push(() => res.end('old')));
    const fresh = await startOrigin(named('new'));
    const [gateway, base] = await startGateway({
      origins: { a: { servers: [slow] } },
      routes: [{ id: 'r', pathPrefix: '/', origin: 'a' }],
    });
    const inflight = get(`${base}/`);
    await until(() => release.length === 1);
    gateway.reload({ origins: { b: { servers: [fresh] } }, routes: [{ id: 'r', pathPrefix: '/', origin: 'b' }] });
    expect((await get(`${base}/`)).text).toBe('new');
    release[0]?.();
    expect((await inflight).text).toBe('old');
  });

  it('watches the config file: applies valid changes, refuses invalid ones', async () => {
    const v1 = await startOrigin(named('v1'));
    const v2 = await startOrigin(named('v2'));
    const dir = mkdtempSync(join(tmpdir(), 'backlot-gw-'));
    onCleanup(async () => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'gateway.json');
    const write = (config: unknown) => {
      writeFileSync(`${file}.tmp`, JSON.stringify(config));
      renameSync(`${file}.tmp`, file); // atomic replace, as editors and config tools do
    };
    const config = (origin: string): GatewayConfigInput => ({ routes: [{ id: 'api', pathPrefix: '/', origin }] });
    write(config(v1));
    const [gateway, base] = await startGateway(config(v1));
    const errors: Error[] = [];
    let reloads = 0;
    gateway.watchConfigFile(file, { onReload: () => reloads++, onError: (e) => errors.push(e) });
    await new Promise((resolve) => setTimeout(resolve, 50));
    write(config(v2));
    await until(() => reloads === 1);
    expect((await get(`${base}/`)).text).toBe('v2');
    writeFileSync(file, '{"routes": [');
    await until(() => errors.length >= 1);
    expect(errors[0]?.message).toMatch(/not valid JSON/);
    write({ routes: [{ id: 'api', pathPrefix: 'nope', origin: v1 }] });
    await until(() => errors.length >= 2);
    expect(errors[1]?.message).toMatch(/routes\[0\]\.pathPrefix: pathPrefix must start with '\/'/);
    expect((await get(`${base}/`)).text).toBe('v2');
  });

  it('shuts down gracefully: drains in-flight requests, then closes', async () => {
    const release: (() => void)[] = [];
    const slow = await startOrigin((_req, res) => release.push(() => res.end('drained')));
    const gateway = createGateway({ routes: [{ id: 'r', pathPrefix: '/', origin: slow }] });
    const { port } = await gateway.listen({ port: 0 });
    const inflight = get(`http://127.0.0.1:${port}/`);
    await until(() => release.length === 1);
    const closed = gateway.close({ timeoutMs: 5000 });
    await new Promise((resolve) => setTimeout(resolve, 50));
    await expect(fetch(`http://127.0.0.1:${port}/`)).rejects.toThrow(); // no longer accepting
    release[0]?.();
    const response = await inflight;
    expect(response.text).toBe('drained');
    expect(response.headers.get('connection')).toBe('close');
    await closed;
  });

  it('polls a config URL with If-None-Match, swaps valid versions in and refuses invalid ones once', async () => {
    const v1 = await startOrigin(named('v1'));
    const v2 = await startOrigin(named('v2'));
    let served = JSON.stringify({ routes: [{ id: 'api', pathPrefix: '/', origin: v2 }] });
    const polls: IncomingHttpHeaders[] = [];
    let notModified = 0;
    const configUrl = await startOrigin((req, res) => {
      polls.push(req.headers);
      const etag = `"${createHash('sha256').update(served).digest('hex').slice(0, 16)}"`;
      if (req.headers['if-none-match'] === etag) {
        notModified++;
        res.writeHead(304, { etag });
        res.end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json', etag });
      res.end(served);
    });
    const [gateway, base] = await startGateway({ routes: [{ id: 'api', pathPrefix: '/', origin: v1 }] });
    expect((await get(`${base}/`)).text).toBe('v1');
    let reloads = 0;
    const errors: Error[] = [];
    gateway.watchConfigUrl(`${configUrl}/gateway.json`, {
      intervalMs: 20,
      headers: { authorization: 'Bearer config-reader' },
      onReload: () => reloads++,
      onError: (error) => errors.push(error),
    });
    await until(() => reloads === 1);
    expect((await get(`${base}/`)).text).toBe('v2');
    await until(() => notModified >= 2); // unchanged: 304s, no reload
    expect(reloads).toBe(1);
    expect(polls[0]?.authorization).toBe('Bearer config-reader');

    served = JSON.stringify({ routes: [{ id: 'api', pathPrefix: '/', origin: 'nowhere' }] });
    await until(() => errors.length === 1);
    expect(isInvalidConfigError(errors[0])).toBe(true);
    expect(errors[0]?.message).toMatch(/routes\[0\]\.origin: unknown origin 'nowhere'/);
    const refusedAt = notModified;
    await until(() => notModified >= refusedAt + 2); // the refused version is not fetched (nor reported) again
    expect(errors).toHaveLength(1);
    expect((await get(`${base}/`)).text).toBe('v2'); // the old config keeps serving

    served = JSON.stringify({ routes: [{ id: 'api', pathPrefix: '/', origin: v1 }] });
    await until(() => reloads === 2);
    expect((await get(`${base}/`)).text).toBe('v1');
  });

  it('polls a config object in a store, reading the body only when its etag changed', async () => {
    const v1 = await startOrigin(named('v1'));
    const v2 = await startOrigin(named('v2'));
    // The part of a @backlot/storage ObjectStore the gateway uses.
    let object = {
      etag: '"1"',
      body: Buffer.from(JSON.stringify({ routes: [{ id: 'api', pathPrefix: '/', origin: v2 }] })),
    };
    let gets = 0;
    const store: ConfigObjectStore = {
      head: async () => ({ etag: object.etag }),
      get: async () => {
        gets++;
        return object;
      },
    };
    const [gateway, base] = await startGateway({ routes: [{ id: 'api', pathPrefix: '/', origin: v1 }] });
    const errors: Error[] = [];
    let reloads = 0;
    const stop = gateway.watchConfigObject(store, 'config/gateway.json', {
      intervalMs: 20,
      onReload: () => reloads++,
      onError: (error) => errors.push(error),
    });
    await until(() => reloads === 1);
    expect((await get(`${base}/`)).text).toBe('v2');
    object = { etag: '"2"', body: Buffer.from('{"routes": [') };
    await until(() => errors.length === 1);
    expect(errors[0]?.message).toMatch(/config\/gateway\.json: not valid JSON/);
    expect((await get(`${base}/`)).text).toBe('v2');
    expect(gets).toBe(2);
    stop();
  });
});
