/**
 * The cost of an origin's chain of interceptors alone, in process: bytes
 * allocated and time per request through `origin.dispatcher` (every policy
 * step and the balancer, with the gateway's `OriginCall` on the options),
 * in front of a pool that answers at once (no network). Allocations are
 * counted from outside the timing: with a young generation large enough that
 * no GC runs during the loop, the heap's growth over N requests is what
 * they allocated — a figure that a loaded machine does not disturb. Time
 * is given as wall time and as the process's CPU time per request (which
 * shared cores disturb less); both are medians of 7 rounds.
 *
 * Run (the sources, no build):
 *   node --expose-gc --max-semi-space-size=128 --import ./scripts/ts-hooks.mjs bench/gateway-chain-alloc.ts [repo root]
 * The optional root runs another checkout's chain (e.g. an older commit
 * exported with `git archive`), with that checkout's `scripts/ts-hooks.mjs`.
 */

import { resolve } from 'node:path';
import { PerformanceObserver, performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { getHeapStatistics } from 'node:v8';
import type { Dispatcher } from 'undici';

const root = resolve(process.argv[2] ?? '.');
const from = (path: string) => import(pathToFileURL(resolve(root, path)).href);
const { Origin } = await from('packages/gateway/src/origins/origin.ts');
const { originSchema } = await from('packages/gateway/src/config/schema.ts');
const { ORIGIN_CALL } = await from('packages/gateway/src/origins/chain/origin-call.ts');
const { TrafficStats } = await from('packages/gateway/src/metrics/gateway-metrics.ts');
const { CommandRegistry } = await from('packages/resilience/src/index.ts');

const controller: Dispatcher.DispatchController = {
  aborted: false,
  paused: false,
  reason: null,
  abort() {},
  pause() {},
  resume() {},
};
const HEAD = { 'content-type': 'application/json' };
const TRAILERS = {};

const origin = new Origin('bench', originSchema.parse({ servers: ['http://127.0.0.1:9'] }), {
  registry: new CommandRegistry(),
});
// Every server's pool answers at once: what is measured is the chain.
for (const server of origin.servers) {
  server.pool.dispatch = (_options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler) => {
    handler.onRequestStart?.(controller, {});
    handler.onResponseStart?.(controller, 200, HEAD, 'OK');
    handler.onResponseEnd?.(controller, TRAILERS);
    return true;
  };
}
const stats = new TrafficStats();

/** Sends `n` requests through the chain, `batch` at a time, resolving when all ended. */
async function send(n: number, batch = 100): Promise<void> {
  for (let sent = 0; sent < n; sent += batch) {
    await new Promise<void>((done) => {
      let left = batch;
      const handler: Dispatcher.DispatchHandler = {
        onResponseEnd() {
          if (--left === 0) done();
        },
        onResponseError(_c, error) {
          throw error;
        },
      };
      for (let i = 0; i < batch; i++) {
        origin.dispatcher.dispatch(
          {
            path: '/x',
            method: 'GET',
            headers: {},
            body: null,
            [ORIGIN_CALL]: {
              maxAttempts: 2,
              idempotent: true,
              attempt: 1,
              exclude: undefined,
              server: undefined,
              stats,
              spans: undefined,
              innermost: undefined,
              cancelled: undefined,
            },
          } as Dispatcher.DispatchOptions,
          handler,
        );
      }
    });
  }
}

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');
/** When each GC started (performance.now()): a round that saw one does not count for bytes. */
const collections: number[] = [];
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) collections.push(entry.startTime);
}).observe({ entryTypes: ['gc'] });

await send(Number(process.env.CHAIN_WARMUP ?? 50_000)); // warm up: every path optimised
const N = Number(process.env.CHAIN_N ?? 5000);
const rounds: { bytes: number; ns: number; cpuNs: number; gcs: number }[] = [];
for (let round = 0; round < 7; round++) {
  gc();
  const startedAt = performance.now();
  const before = getHeapStatistics().used_heap_size;
  const start = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  await send(N);
  const ns = Number(process.hrtime.bigint() - start) / N;
  const used = process.cpuUsage(cpu);
  const cpuNs = ((used.user + used.system) * 1000) / N;
  const bytes = (getHeapStatistics().used_heap_size - before) / N;
  const endedAt = performance.now();
  await new Promise((r) => setTimeout(r, 10)); // the observer reports GCs asynchronously
  rounds.push({ bytes, ns, cpuNs, gcs: collections.filter((at) => at > startedAt && at < endedAt).length });
}
const clean = rounds.filter((r) => r.gcs === 0);
const median = (values: number[]) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;
console.log(
  JSON.stringify({
    root,
    steps: 'origin.dispatcher (default chain) → balancer → answering pool',
    requests_per_round: N,
    rounds_without_gc: clean.length,
    bytes_per_request: Math.round(median(clean.map((r) => r.bytes))),
    ns_per_request_median: Math.round(median(rounds.map((r) => r.ns))),
    cpu_ns_per_request_median: Math.round(median(rounds.map((r) => r.cpuNs))),
  }),
);
await origin.destroy();
