import type { Server } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isCircuitOpenError, isRejectedError, isTimeoutError } from '@backlot/resilience';
import { Agent, request } from 'undici';
import { describe, expect, it } from 'vitest';
import { type Gateway, type OriginChainBuilder, type OriginInterceptor, originCall } from '../src/index.js';
import { gatewayMetric, onCleanup, startGateway, until } from './helpers.js';

/** What a spy step saw: each dispatch (its attempt number), and each failure that came back up through it. */
interface Seen {
  readonly dispatched: number[];
  readonly failures: Error[];
  readonly answers: number[];
}

/** A user interceptor that records what passes through it and changes nothing. */
function spy(name: string): { step: OriginInterceptor; seen: Seen } {
  const seen: Seen = { dispatched: [], failures: [], answers: [] };
  const step: OriginInterceptor = {
    name,
    interceptor: (dispatch) => (options, handler) => {
      seen.dispatched.push(originCall(options)?.attempt ?? 0);
      return dispatch(options, {
        ...handler,
        onRequestStart: (controller, context) => handler.onRequestStart?.(controller, context),
        onResponseStart: (controller, status, headers, message) => {
          seen.answers.push(status);
          handler.onResponseStart?.(controller, status, headers, message);
        },
        onResponseData: (controller, chunk) => handler.onResponseData?.(controller, chunk),
        onResponseEnd: (controller, trailers) => handler.onResponseEnd?.(controller, trailers),
        onResponseError: (controller, error) => {
          seen.failures.push(error);
          handler.onResponseError?.(controller, error);
        },
      });
    },
  };
  return { step, seen };
}

/** A user interceptor that accepts every request and never answers nor dispatches it. */
const hang: OriginInterceptor = { name: 'hang', interceptor: () => (_options, _handler) => true };

/** Inserts `steps` right after the step named `after` (or first, for `null`). */
function insertAfter(after: string | null, ...steps: OriginInterceptor[]): OriginChainBuilder {
  return (chain) => {
    const at = after === null ? 0 : chain.findIndex((step) => step.name === after) + 1;
    if (after !== null && at === 0) throw new Error(`no step '${after}'`);
    return [...chain.slice(0, at), ...steps, ...chain.slice(at)];
  };
}

/** An origin that holds every request until released, counting requests and open connections. */
async function holdingOrigin(): Promise<{ url: string; server: Server; received: () => number; release: () => void }> {
  const held: (() => void)[] = [];
  let received = 0;
  const server = createServer((req, res) => {
    received++;
    req.resume();
    held.push(() => res.end('late'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onCleanup(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    server,
    received: () => received,
    release: () => {
      for (const answer of held.splice(0)) answer();
    },
  };
}

const connections = (server: Server) =>
  new Promise<number>((resolve, reject) => server.getConnections((error, n) => (error ? reject(error) : resolve(n))));

/** A GET with its own client-side bound, so that a gateway that never answered fails the test instead of hanging it. */
async function bounded(
  base: string,
  path: string,
): Promise<{ status: number; body: { error?: string }; text: string }> {
  const dispatcher = new Agent({ headersTimeout: 10_000, bodyTimeout: 10_000 });
  try {
    const response = await request(`${base}${path}`, { dispatcher });
    const text = await response.body.text();
    const json = String(response.headers['content-type']).startsWith('application/json');
    return { status: response.statusCode, body: json ? (JSON.parse(text) as { error?: string }) : {}, text };
  } finally {
    await dispatcher.close();
  }
}

function commandOf(gateway: Gateway, origin: string) {
  const metrics = gateway.registry.commandMetrics().find((m) => m.key === `gateway.origin.${origin}`);
  if (!metrics) throw new Error(`no command for origin '${origin}'`);
  return metrics;
}

/**
 * A gateway in front of a {@link holdingOrigin} (one attempt per request),
 * with a spy step right after `breaker` and one right after `concurrency-limit`.
 */
async function withSpies(api: Record<string, unknown>) {
  const origin = await holdingOrigin();
  const afterBreaker = spy('after-breaker');
  const afterLimit = spy('after-limit');
  const [gateway, base] = await startGateway(
    {
      origins: { api: { servers: [origin.url], retry: { maxAttempts: 1 }, ...api } },
      routes: [{ id: 'api', pathPrefix: '/', origin: 'api' }],
    },
    {
      originChain: (chain, name) =>
        insertAfter('concurrency-limit', afterLimit.step)(insertAfter('breaker', afterBreaker.step)(chain, name), name),
    },
  );
  return { origin, afterBreaker, afterLimit, gateway, base };
}

describe("an origin's policies as separate interceptors", () => {
  it('orders them retry → breaker → concurrency-limit → timeout → outlier-detection, a user step between any two', async () => {
    const { origin, afterBreaker, afterLimit, gateway, base } = await withSpies({
      timeoutMs: 150,
      deadlineMs: 10_000, // the attempt's own timeout decides here, however loaded the machine
      outlierDetection: { enabled: false },
      circuitBreaker: { requestVolumeThreshold: 3, sleepWindowMs: 60_000 },
    });
    // Three attempts the origin never answers: each is timed out by the timeout step, below both spies.
    for (let i = 0; i < 3; i++) {
      const timedOut = await bounded(base, `/t${i}`);
      expect(timedOut.status).toBe(504);
      expect(timedOut.body.error).toBe('origin_timeout');
    }
    expect(afterBreaker.seen.dispatched).toEqual([1, 1, 1]);
    expect(afterLimit.seen.dispatched).toEqual([1, 1, 1]);
    expect(afterBreaker.seen.failures.map(isTimeoutError)).toEqual([true, true, true]);
    expect(afterLimit.seen.failures.map(isTimeoutError)).toEqual([true, true, true]);
    expect(origin.received()).toBe(3);

    // The timeouts were failures for the breaker: the circuit is open, and what it refuses reaches neither spy nor the origin.
    const refused = await bounded(base, '/open');
    expect(refused.status).toBe(503);
    expect(refused.body.error).toBe('circuit_open');
    expect(afterBreaker.seen.dispatched).toHaveLength(3);
    expect(afterLimit.seen.dispatched).toHaveLength(3);
    expect(origin.received()).toBe(3);

    // One set of Hystrix metrics for the three steps, each event counted once.
    const command = commandOf(gateway, 'api');
    expect(command.circuit).toBe('open');
    expect(command.cumulativeCounts.timeout).toBe(3);
    expect(command.cumulativeCounts.shortCircuited).toBe(1);
    expect(command.cumulativeCounts.success).toBe(0);
    expect(command.cumulativeCounts.failure).toBe(0);
    expect(command.cumulativeCounts.fallbackMissing).toBe(4);
    expect(command.concurrency.current).toBe(0);
    expect(isCircuitOpenError(afterBreaker.seen.failures[3])).toBe(false); // nothing more came up through it
  });

  it('rejects over the concurrency limit above the timeout: the step after the limit never sees the rejected attempt', async () => {
    const { origin, afterBreaker, afterLimit, gateway, base } = await withSpies({
      concurrencyLimit: { algorithm: 'aimd', initialLimit: 1, maxConcurrency: 1 },
    });
    const held = bounded(base, '/held');
    await until(() => origin.received() === 1);
    const shed = await bounded(base, '/shed');
    expect(shed.status).toBe(503);
    expect(shed.body.error).toBe('overloaded');
    expect(afterBreaker.seen.dispatched).toEqual([1, 1]);
    expect(afterLimit.seen.dispatched).toEqual([1]);
    expect(afterBreaker.seen.failures.map(isRejectedError)).toEqual([true]);
    expect(afterLimit.seen.failures).toEqual([]);
    origin.release();
    const answered = await held;
    expect(answered.status).toBe(200);
    expect(answered.text).toBe('late');
    expect(afterBreaker.seen.answers).toEqual([200]);
    expect(afterLimit.seen.answers).toEqual([200]);
    const command = commandOf(gateway, 'api');
    expect(command.cumulativeCounts.rejected).toBe(1);
    expect(command.cumulativeCounts.success).toBe(1);
    expect(origin.received()).toBe(1);
  });
});

describe("the request's deadline over the whole chain", () => {
  it('answers a typed 504 when a user step outside the timeout accepts and never answers, and leaks nothing', async () => {
    const origin = await holdingOrigin();
    const [gateway, base] = await startGateway(
      {
        origins: { api: { servers: [origin.url], deadlineMs: 200 } },
        routes: [{ id: 'api', pathPrefix: '/', origin: 'api' }],
      },
      { originChain: insertAfter(null, hang) }, // outermost: no step of the gateway's ever sees the request
    );
    const answers = await Promise.all([bounded(base, '/a'), bounded(base, '/b'), bounded(base, '/c')]);
    for (const answer of answers) {
      expect(answer.status).toBe(504);
      expect(answer.body.error).toBe('origin_timeout');
    }
    expect(origin.received()).toBe(0);
    expect(await connections(origin.server)).toBe(0);
    await until(async () => (await gatewayMetric(gateway, 'backlot_gateway_inflight')) === 0);
    expect(await gatewayMetric(gateway, 'backlot_gateway_route_inflight', { route: 'api' })).toBe(0);
    expect(await gatewayMetric(gateway, 'backlot_gateway_origin_inflight', { origin: 'api' })).toBe(0);
    expect(commandOf(gateway, 'api').concurrency.current).toBe(0);
    // The gateway keeps serving: the origin is fine, only the step hung.
    expect(commandOf(gateway, 'api').circuit).toBe('closed');
  });

  it('gives back the concurrency slot of an attempt that a step below the limit swallowed, at the deadline', async () => {
    const origin = await holdingOrigin();
    let swallow = true;
    const swallowFirst: OriginInterceptor = {
      name: 'swallow-first',
      interceptor: (dispatch) => (options, handler) => {
        if (!swallow) return dispatch(options, handler);
        swallow = false;
        return true; // accepted, never answered nor passed on
      },
    };
    const [gateway, base] = await startGateway(
      {
        origins: {
          api: {
            servers: [origin.url],
            deadlineMs: 300,
            retry: { maxAttempts: 1 },
            concurrencyLimit: { algorithm: 'aimd', initialLimit: 1, maxConcurrency: 1 },
          },
        },
        routes: [{ id: 'api', pathPrefix: '/', origin: 'api' }],
      },
      { originChain: insertAfter('concurrency-limit', swallowFirst) },
    );
    const swallowed = await bounded(base, '/first');
    expect(swallowed.status).toBe(504);
    expect(swallowed.body.error).toBe('origin_timeout');
    const group = () => gateway.registry.groupMetrics().find((g) => g.group === 'gateway.origin.api');
    expect(group()?.active).toBe(0); // the slot came back: a limit of 1 still admits the next request
    const next = bounded(base, '/second');
    await until(() => origin.received() === 1);
    origin.release();
    const answered = await next;
    expect(answered.status).toBe(200);
    expect(answered.text).toBe('late');
    expect(commandOf(gateway, 'api').cumulativeCounts.rejected).toBe(0);
  });

  it("ends a half-open circuit's trial that a step below the breaker swallowed: the circuit opens again, then closes", async () => {
    const live = await holdingOrigin();
    let mode: 'refuse' | 'swallow' | 'live' = 'refuse';
    const switchable: OriginInterceptor = {
      name: 'switchable',
      interceptor: (dispatch) => (options, handler) => {
        if (mode === 'swallow') return true; // accepted, never answered nor passed on
        if (mode === 'live') return dispatch(options, handler);
        const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }); // the origin's fault
        handler.onResponseError?.(
          { aborted: true, paused: false, reason: refused, abort() {}, pause() {}, resume() {} },
          refused,
        );
        return true;
      },
    };
    const [gateway, base] = await startGateway(
      {
        origins: {
          api: {
            servers: [live.url],
            deadlineMs: 300,
            retry: { maxAttempts: 1 },
            outlierDetection: { enabled: false },
            circuitBreaker: { requestVolumeThreshold: 2, sleepWindowMs: 200 },
          },
        },
        routes: [{ id: 'api', pathPrefix: '/', origin: 'api' }],
      },
      { originChain: insertAfter('breaker', switchable) },
    );
    const circuit = () => commandOf(gateway, 'api').circuit;
    for (let i = 0; i < 2; i++) expect((await bounded(base, `/refused${i}`)).status).toBe(502);
    expect(circuit()).toBe('open');
    mode = 'swallow';
    await until(() => circuit() === 'half-open');
    const swallowed = await bounded(base, '/trial');
    expect(swallowed.status).toBe(504);
    expect(circuit()).toBe('open'); // the trial ended as a failure, not left pending for ever
    mode = 'live';
    await until(() => circuit() === 'half-open');
    const trial = bounded(base, '/live');
    await until(() => live.received() === 1);
    live.release();
    expect((await trial).status).toBe(200);
    expect(circuit()).toBe('closed');
  });

  it('lets the per-attempt timeout decide for a step inside it: a timeout of the command, retried within the deadline', async () => {
    const origin = await holdingOrigin();
    const [gateway, base] = await startGateway(
      {
        origins: {
          api: {
            servers: [origin.url],
            timeoutMs: 100,
            retry: { maxAttempts: 2, budget: { minRetriesPerSecond: 100 } },
          },
        },
        routes: [{ id: 'api', pathPrefix: '/', origin: 'api' }],
      },
      { originChain: insertAfter('timeout', hang) },
    );
    const answer = await bounded(base, '/x');
    expect(answer.status).toBe(504);
    expect(answer.body.error).toBe('origin_timeout');
    const command = commandOf(gateway, 'api');
    expect(command.cumulativeCounts.timeout).toBe(2); // both attempts (GET is idempotent: a timeout is retried)
    expect(command.concurrency.current).toBe(0);
    expect(await gatewayMetric(gateway, 'backlot_gateway_origin_retries_total', { origin: 'api' })).toBe(1);
    expect(origin.received()).toBe(0);
  });
});
