import { AsyncLocalStorage } from 'node:async_hooks';

/** One step of a Play request: which service, how long, and whether a fallback answered. */
export interface TraceStep {
  service: string;
  ms: number;
  outcome: 'ok' | `fallback:${string}` | 'error';
}

/**
 * Handed to a command as its first argument, so that its fallback can say it
 * answered (and why) without any shared state: `probe.fallback = reason`.
 */
export interface Probe {
  fallback?: string | undefined;
}

const storage = new AsyncLocalStorage<TraceStep[]>();

/** Runs `fn` collecting the steps of one Play request. */
export async function withTrace<T>(fn: () => Promise<T>): Promise<{ result: T; trace: TraceStep[] }> {
  const trace: TraceStep[] = [];
  const result = await storage.run(trace, fn);
  return { result, trace };
}

/** Times `call` as a step of the current request, recording whether its fallback answered. */
export async function step<T>(service: string, call: (probe: Probe) => Promise<T>): Promise<T> {
  const trace = storage.getStore();
  const probe: Probe = {};
  const started = performance.now();
  const entry: TraceStep = { service, ms: 0, outcome: 'ok' };
  try {
    const value = await call(probe);
    if (probe.fallback) entry.outcome = `fallback:${probe.fallback}`;
    return value;
  } catch (error) {
    entry.outcome = 'error';
    throw error;
  } finally {
    entry.ms = Math.round((performance.now() - started) * 10) / 10;
    trace?.push(entry);
  }
}
