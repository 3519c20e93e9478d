import type { CircuitState, ResolvedCircuitBreakerOptions } from '../breaker/circuit-breaker.js';
import type { EventCounts, HealthCounts } from './rolling-counts.js';
import type { LatencySnapshot } from './rolling-latency.js';

/** A command's metrics at one moment, over its rolling window. */
export interface CommandMetricsSnapshot {
  /** Command key. */
  key: string;
  /** Group key. */
  group: string;
  /** Rolling window length (ms). */
  windowMs: number;
  /** Circuit state now. */
  circuit: CircuitState;
  /** What the circuit breaker decides on. */
  health: HealthCounts;
  /** Every event's count over the window. */
  counts: EventCounts;
  /** Every event's count since the command was defined. */
  cumulativeCounts: EventCounts;
  /** Calls running now, and the most at once in the window. */
  concurrency: { current: number; rollingMax: number };
  /** Latency of `run` alone (ms). */
  latencyExecute: LatencySnapshot;
  /** Latency seen by the caller, fallback and retries included (ms). */
  latencyTotal: LatencySnapshot;
  /** Resolved settings, as the Hystrix stream reports them. */
  settings: {
    timeoutMs: number | false;
    circuitBreaker: ResolvedCircuitBreakerOptions;
    requestCacheEnabled: boolean;
  };
}

/** A group's isolation (bulkhead or adaptive limit) at one moment. */
export interface GroupMetricsSnapshot {
  /** Group key. */
  group: string;
  /** `bulkhead` (fixed) or `adaptive` (concurrency limit). */
  kind: 'bulkhead' | 'adaptive';
  /** Slots now: the fixed maximum, or the adaptive limit's current value. */
  limit: number;
  /** Calls running now. */
  active: number;
  /** Calls waiting for a slot now. */
  queued: number;
  /** Queue bound. */
  maxQueue: number;
  /** Most calls running at once since start. */
  largestActive: number;
  /** Calls that ran to completion since start. */
  completed: number;
  /** Calls rejected since start. */
  rejected: number;
  /** Calls run in the rolling window. */
  rollingExecuted: number;
  /** Calls rejected in the rolling window. */
  rollingRejected: number;
  /** Rolling window length (ms). */
  windowMs: number;
  /** Most calls running at once in the rolling window. */
  rollingMaxActive: number;
}
