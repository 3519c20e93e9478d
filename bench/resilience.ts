/**
 * `npm run bench -- resilience`: the cost of isolating a call, Backlot vs
 * opossum vs cockatiel, side by side in one run (see bench/lib/harness.ts).
 *
 * - overhead_ns: per-call cost over a bare async call, sequential awaits
 *   (Backlot: timeout + circuit breaker + bulkhead + metrics + fallback;
 *   opossum: fire() with its timeout; cockatiel: wrap(bulkhead, timeout, circuitBreaker)).
 * - concurrent_ops_per_s: calls per second with 1,000 in flight.
 * - failure_overhead_ns: cost of one failing call (with fallback) over a bare
 *   failing call, after 100,000 successful calls in the rolling window.
 * - heap_per_command_kib: heap per defined (registered, idle) command.
 *
 * `backlot_listener` and `opossum_listener` are the same with a listener on
 * every event of each command (Backlot: `command.on()` for its nine events;
 * opossum: `breaker.on()` for the same nine, `semaphoreLocked` for `reject`),
 * so the cost of events when someone listens is measured too.
 *
 * `backlot_prom` registers the commands' families in a prom-client registry
 * (read at scrape time only); `backlot_otel_off` runs with an OpenTelemetry
 * SDK installed whose sampler records nothing (registered as services do:
 * AsyncLocalStorage context manager, W3C propagator, `AlwaysOffSampler`;
 * bench/lib/otel.ts): what a service with tracing wired but sampled out pays
 * per call. `opossum_otel_off` is opossum under the same SDK (it makes no
 * span: what the SDK costs any process), so backlot_otel_off /
 * opossum_otel_off can be set against backlot / opossum. Those are root calls
 * (no active span: the sampler is asked, and says no, for each);
 * `backlot_otel_unsampled_parent` makes each call inside a request span the
 * sampler dropped, the usual case in a traced service: no span at all.
 */

import type { EventEmitter } from 'node:events';
import { COMMAND_EVENT_NAMES, CommandRegistry, defineCommand, registerPrometheusMetrics } from '@backlot/resilience';
import { context, trace } from '@opentelemetry/api';
import {
  bulkhead,
  ConsecutiveBreaker,
  circuitBreaker,
  fallback as cockatielFallback,
  handleAll,
  TimeoutStrategy,
  timeout,
  wrap,
} from 'cockatiel';
import OpossumBreaker from 'opossum';
import { Registry } from 'prom-client';
import { type Figures, runBench } from './lib/harness.ts';
import { installOpenTelemetry } from './lib/otel.ts';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc (npm run bench does)');

const SEQUENTIAL_CALLS = 200_000;
const CONCURRENT_CALLS = 200_000;
const IN_FLIGHT = 1000;
const WINDOW_FILL = 100_000;
const FAILING_CALLS = 2000;
const COMMANDS_FOR_HEAP = 500;

const bare = async (n: number) => n;
const bareFailing = async (_n: number): Promise<number> => {
  throw new Error('down');
};

/** What each subject provides: a way to wrap a function into an isolated call. */
interface Wrapper {
  make(fn: (n: number) => Promise<number>, id: number): (n: number) => Promise<number>;
  dispose(): void;
}

/** What the listener subjects do with each event: count it, so that it is not optimised away. */
let eventsSeen = 0;
const onEvent = () => {
  eventsSeen++;
};
const OPOSSUM_EVENTS = [
  'success',
  'failure',
  'timeout',
  'semaphoreLocked',
  'reject',
  'fallback',
  'open',
  'close',
  'halfOpen',
] as const;

function backlot(listen: boolean, observe: 'prom' | 'otel-off' | undefined = undefined): () => Wrapper {
  return () => {
    const registry = new CommandRegistry();
    let unobserve = () => {};
    if (observe === 'prom') unobserve = registerPrometheusMetrics(new Registry(), { commands: registry });
    if (observe === 'otel-off') {
      const uninstall = installOpenTelemetry(false);
      unobserve = () => void uninstall();
    }
    return {
      make: (fn, id) => {
        const command = defineCommand({
          key: `bench-${id}`,
          registry,
          timeoutMs: 1000,
          bulkhead: { maxConcurrent: IN_FLIGHT },
          run: (_execution, n: number) => fn(n),
          fallback: () => -1,
        });
        if (listen) for (const event of COMMAND_EVENT_NAMES) command.on(event, onEvent);
        return command;
      },
      dispose: () => {
        registry.clear();
        unobserve();
      },
    };
  };
}

function opossum(listen: boolean, observe: 'otel-off' | undefined = undefined): () => Wrapper {
  return () => opossumWrapper(listen, observe);
}

function opossumWrapper(listen: boolean, observe: 'otel-off' | undefined): Wrapper {
  const breakers: OpossumBreaker[] = [];
  const uninstall = observe === 'otel-off' ? installOpenTelemetry(false) : undefined;
  return {
    make: (fn) => {
      const breaker = new OpossumBreaker(fn, { timeout: 1000 });
      breaker.fallback(() => -1);
      if (listen) for (const event of OPOSSUM_EVENTS) (breaker as EventEmitter).on(event, onEvent);
      breakers.push(breaker);
      return (n: number) => breaker.fire(n) as Promise<number>;
    },
    dispose: () => {
      for (const breaker of breakers) breaker.shutdown();
      void uninstall?.();
    },
  };
}

function cockatiel(): Wrapper {
  return {
    make: (fn) => {
      const policy = wrap(
        cockatielFallback(handleAll, -1),
        bulkhead(IN_FLIGHT),
        timeout(1000, TimeoutStrategy.Aggressive),
        circuitBreaker(handleAll, { halfOpenAfter: 5000, breaker: new ConsecutiveBreaker(20) }),
      );
      return (n: number) => policy.execute(() => fn(n));
    },
    dispose: () => {},
  };
}

async function timeSequential(call: (n: number) => Promise<number>, calls: number): Promise<number> {
  const start = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) await call(i);
  return Number(process.hrtime.bigint() - start) / calls;
}

async function opsPerSecond(call: (n: number) => Promise<number>): Promise<number> {
  const start = process.hrtime.bigint();
  let next = 0;
  const worker = async () => {
    while (next < CONCURRENT_CALLS) await call(next++);
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  return CONCURRENT_CALLS / (Number(process.hrtime.bigint() - start) / 1e9);
}

function heapPerCommandKib(factory: () => Wrapper): number {
  gc?.();
  const before = process.memoryUsage().heapUsed;
  const wrapper = factory();
  const calls = Array.from({ length: COMMANDS_FOR_HEAP }, (_, i) => wrapper.make(bare, i));
  gc?.();
  const perCommand = (process.memoryUsage().heapUsed - before) / COMMANDS_FOR_HEAP / 1024;
  if (calls.length !== COMMANDS_FOR_HEAP) throw new Error('unreachable');
  wrapper.dispose();
  return perCommand;
}

/** Runs `round` inside a request span the sampler dropped (the usual case in a traced service with sampling off). */
function inUnsampledRequest<T>(round: () => Promise<T>): Promise<T> {
  const dropped = trace.wrapSpanContext({
    traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
    spanId: '00f067aa0ba902b7',
    traceFlags: 0,
  });
  return context.with(trace.setSpan(context.active(), dropped), round);
}

function subject(factory: () => Wrapper, unsampledParent = false): () => Promise<Figures> {
  return async () => {
    const wrapper = factory(); // registers the SDK, if the subject has one
    return unsampledParent ? inUnsampledRequest(() => measure(factory, wrapper)) : measure(factory, wrapper);
  };
}

async function measure(factory: () => Wrapper, wrapper: Wrapper): Promise<Figures> {
  try {
    const ok = wrapper.make(bare, 1);
    const bareNs = await timeSequential(bare, SEQUENTIAL_CALLS);
    const wrappedNs = await timeSequential(ok, SEQUENTIAL_CALLS);
    const concurrent = await opsPerSecond(wrapper.make(bare, 2));

    // Failure path after a busy window: 100k successes, then failing calls that fall back.
    let failing = false;
    const flaky = wrapper.make((n) => (failing ? bareFailing(n) : bare(n)), 3);
    await timeSequential(flaky, WINDOW_FILL);
    failing = true;
    const bareFailNs = await timeSequential((n) => bareFailing(n).catch(() => -1), FAILING_CALLS);
    const failNs = await timeSequential(flaky, FAILING_CALLS);

    return {
      overhead_ns: wrappedNs - bareNs,
      concurrent_ops_per_s: concurrent,
      failure_overhead_ns: failNs - bareFailNs,
      heap_per_command_kib: heapPerCommandKib(factory),
    };
  } finally {
    wrapper.dispose();
  }
}

export default async function run() {
  const result = await runBench({
    name: 'resilience',
    unit: {
      overhead_ns: 'ns per call over a bare async call (lower is better)',
      concurrent_ops_per_s: 'calls/s with 1,000 in flight (higher is better)',
      failure_overhead_ns: 'ns per failing call over a bare failing call, 100k calls in the window (lower is better)',
      heap_per_command_kib: 'KiB of heap per defined, idle command (lower is better)',
    },
    subjects: {
      backlot: subject(backlot(false)),
      opossum: subject(opossum(false)),
      cockatiel: subject(cockatiel),
      backlot_prom: subject(backlot(false, 'prom')),
      backlot_otel_off: subject(backlot(false, 'otel-off')),
      backlot_otel_unsampled_parent: subject(backlot(false, 'otel-off'), true),
      opossum_otel_off: subject(opossum(false, 'otel-off')),
      backlot_listener: subject(backlot(true)),
      opossum_listener: subject(opossum(true)),
    },
    rounds: 5,
    warmup: 1,
  });
  if (eventsSeen === 0 && 'backlot_listener' in result.subjects) throw new Error('the listener subjects saw no event');
  return result;
}
