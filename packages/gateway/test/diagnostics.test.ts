import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { describe, expect, it } from 'vitest';
import { GATEWAY_REQUEST_CHANNEL, type GatewayRequestMessage } from '../src/index.js';
import { get, named, startGateway, startOrigin, until } from './helpers.js';

describe('diagnostics channel', () => {
  it('publishes every finished request, routed or not', async () => {
    const api = await startOrigin(named('a'));
    const [, base] = await startGateway({ routes: [{ id: 'api', pathPrefix: '/api', origin: api }] });
    const seen: GatewayRequestMessage[] = [];
    const onRequest = (message: unknown) => seen.push(message as GatewayRequestMessage);
    subscribe(GATEWAY_REQUEST_CHANNEL, onRequest);
    try {
      await get(`${base}/api/x`, { headers: { 'x-request-id': 'ignored-from-untrusted-peer' } });
      await get(`${base}/elsewhere`);
      await until(() => seen.length === 2);
    } finally {
      unsubscribe(GATEWAY_REQUEST_CHANNEL, onRequest);
    }
    expect(seen[0]).toMatchObject({ method: 'GET', path: '/api/x', route: 'api', status: 200, aborted: false });
    expect(seen[0]?.seconds).toBeGreaterThanOrEqual(0);
    expect(seen[0]?.requestId).toMatch(/\S/);
    expect(seen[1]).toMatchObject({ path: '/elsewhere', route: undefined, status: 404 });
  });
});
