export type { CircuitBreakerOptions, CircuitState, ResolvedCircuitBreakerOptions } from './breaker/circuit-breaker.js';
export { Bulkhead, type BulkheadOptions } from './bulkhead/bulkhead.js';
export { type CallOptions, type Command, type DefineCommandOptions, defineCommand } from './command/define-command.js';
export type { Execution } from './command/execution.js';
export type {
  CommandFailure,
  CommandLogger,
  CommandOptions,
  FailureReason,
  HedgeOptions,
  RetryOptions,
  SameArgs,
} from './command/options.js';
export {
  AbortedError,
  BadRequestError,
  CircuitOpenError,
  FallbackFailedError,
  isAbortedError,
  isBadRequestError,
  isCircuitOpenError,
  isFallbackFailedError,
  isRejectedError,
  isTimeoutError,
  RejectedError,
  ResilienceError,
  type ResilienceErrorCode,
  TimeoutError,
} from './errors.js';
export { COMMAND_EVENTS, type CommandEvent } from './metrics/events.js';
export type { EventCounts, HealthCounts } from './metrics/rolling-counts.js';
export { LATENCY_PERCENTILES, type LatencySnapshot } from './metrics/rolling-latency.js';
export type { CommandMetricsSnapshot, GroupMetricsSnapshot } from './metrics/snapshot.js';
export type { AdaptiveLimiterLike, Permit } from './registry/group-isolation.js';
export { CommandRegistry, defaultRegistry } from './registry/registry.js';
export { fullJitterDelay } from './retry/backoff.js';
export { RetryBudget, type RetryBudgetOptions } from './retry/retry-budget.js';
export { isRetryable, markRetryable } from './retry/retryable.js';
export { type WithTimeoutOptions, withTimeout } from './timeout/with-timeout.js';
