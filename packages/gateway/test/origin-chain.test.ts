import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import {
  createGateway,
  InvalidConfigError,
  type OriginChainBuilder,
  type OriginInterceptor,
  originCall,
} from '../src/index.js';
import { echo, get, named, startGateway, startOrigin } from './helpers.js';

/** A loopback port with nothing listening (connections refused). */
async function deadUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return `http://127.0.0.1:${port}`;
}

/** An interceptor that counts the dispatches it sees, and the attempt number of each. */
function counting(name: string) {
  const attempts: number[] = [];
  const step: OriginInterceptor = {
    name,
    interceptor: (dispatch) => (options, handler) => {
      attempts.push(originCall(options)?.attempt ?? 0);
      return dispatch(options, handler);
    },
  };
  return { step, attempts };
}

describe("an origin's chain of interceptors", () => {
  it('runs user steps where the list puts them: outside retry once per request, inside it once per attempt', async () => {
    const live = await startOrigin(named('live'));
    const outer = counting('outer');
    const inner = counting('inner');
    const originChain: OriginChainBuilder = (chain, origin) => {
      expect(chain.map((step) => step.name)).toEqual([
        'retry',
        'breaker',
        'concurrency-limit',
        'timeout',
        'outlier-detection',
      ]);
      expect(origin).toBe('api');
      return [outer.step, ...chain.slice(0, 2), inner.step, ...chain.slice(2)];
    };
    const [, base] = await startGateway(
      {
        origins: {
          api: {
            servers: [await deadUrl(), live],
            balancer: 'round-robin',
            outlierDetection: { enabled: false },
            circuitBreaker: { enabled: false },
            retry: { budget: { minRetriesPerSecond: 100 } },
          },
        },
        routes: [{ id: 'api', pathPrefix: '/', origin: 'api' }],
      },
      { originChain },
    );
    for (let i = 0; i < 6; i++) {
      const response = await get(`${base}/x${i}`);
      expect(response.status).toBe(200);
      expect(response.text).toBe('live');
    }
    expect(outer.attempts).toEqual([1, 1, 1, 1, 1, 1]); // before retry: one call per request
    const retried = inner.attempts.filter((attempt) => attempt === 2).length;
    expect(retried).toBeGreaterThanOrEqual(3); // every other first attempt goes to the dead server
    expect(inner.attempts.length).toBe(6 + retried);
  });

  it('lets a step change the request the undici way, and drop a gateway step', async () => {
    const api = await startOrigin(echo);
    const tenant: OriginInterceptor = {
      name: 'tenant',
      interceptor: (dispatch) => (options, handler) =>
        dispatch(
          { ...options, headers: { ...(options.headers as Record<string, string>), 'x-tenant': 'acme' } },
          handler,
        ),
    };
    const [, base] = await startGateway(
      { origins: { api: { servers: [api] } }, routes: [{ id: 'api', pathPrefix: '/', origin: 'api' }] },
      { originChain: (chain) => [...chain.filter((step) => step.name !== 'outlier-detection'), tenant] },
    );
    const seen = JSON.parse((await get(`${base}/t`)).text) as { headers: Record<string, string> };
    expect(seen.headers['x-tenant']).toBe('acme');
  });

  it('answers 502 when a step throws, without its detail, and keeps serving', async () => {
    const api = await startOrigin(named('api'));
    let armed = true;
    const faulty: OriginInterceptor = {
      name: 'faulty',
      interceptor: (dispatch) => (options, handler) => {
        if (armed) throw new Error('step bug');
        return dispatch(options, handler);
      },
    };
    const [, base] = await startGateway(
      { origins: { api: { servers: [api] } }, routes: [{ id: 'api', pathPrefix: '/', origin: 'api' }] },
      { originChain: (chain) => [faulty, ...chain] },
    );
    const failed = await get(`${base}/a`);
    expect(failed.status).toBe(502);
    expect(JSON.parse(failed.text)).toMatchObject({ error: 'origin_unavailable' });
    expect(failed.text).not.toContain('step bug'); // the detail goes to the log, not the client
    armed = false;
    expect((await get(`${base}/b`)).text).toBe('api');
  });

  it('refuses a bad chain with an error naming the origin and the step', () => {
    const config = {
      origins: { api: { servers: ['http://127.0.0.1:9'] } },
      routes: [{ id: 'a', pathPrefix: '/', origin: 'api' }],
    };
    const duplicate: OriginChainBuilder = (chain) => [...chain, chain[0] as OriginInterceptor];
    expect(() => createGateway(config, { originChain: duplicate })).toThrow(InvalidConfigError);
    expect(() => createGateway(config, { originChain: duplicate })).toThrow(
      /originChain \(origin 'api'\)\[5\]\.name: 'retry' appears twice/,
    );
    const notAFunction = (() => [{ name: 'x', interceptor: 42 }]) as unknown as OriginChainBuilder;
    expect(() => createGateway(config, { originChain: notAFunction })).toThrow(
      /originChain \(origin 'api'\)\[0\]\.interceptor: interceptor must be a function/,
    );
  });
});
