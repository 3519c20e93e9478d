/** What `registerPrometheusMetrics` needs of a prom-client `Registry` (from `@backlot/metrics-core`). */
export type { PrometheusRegistry } from '@backlot/metrics-core';
/**
 * The tracer of an instrumentation scope, or `undefined` without an
 * OpenTelemetry SDK: `activeTracer` of `@backlot/metrics-core/tracing`, the one
 * lookup every Backlot package shares, re-exported for services built on this
 * package.
 */
export { activeTracer } from '@backlot/metrics-core/tracing';
export type { CircuitBreakerOptions, CircuitState, ResolvedCircuitBreakerOptions } from './breaker/circuit-breaker.js';
export type { CircuitJson, CircuitJsonInput } from './breaker/circuit-json.js';
export { Bulkhead, type BulkheadOptions } from './bulkhead/bulkhead.js';
export type { CommandControls } from './command/command-controls.js';
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
export { type WrapCommandOptions, wrapCommand } from './command/wrap-command.js';
export {
  type Collapser,
  CollapserBatchMismatchError,
  type CollapserBatchResult,
  CollapserError,
  type CollapserErrorCode,
  CollapserMissingKeyError,
  type CollapserOptions,
  cachedInRequest,
  currentRequestContext,
  defineCollapser,
  isCollapserBatchMismatchError,
  isCollapserMissingKeyError,
  type RequestContext,
  type RequestContextOptions,
  runInRequestContext,
} from './context/index.js';
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
export {
  COMMAND_CHANNELS,
  COMMAND_EVENT_NAMES,
  COMMAND_TRACING_CHANNEL,
  type CommandEventMap,
  type CommandEventName,
  type EventSubscription,
} from './events/command-events.js';
export {
  AdaptiveLimiter,
  type AdaptiveLimiterOptions,
  type AimdLimitOptions,
  aimdLimit,
  type ConcurrencyLimit,
  type Gradient2LimitOptions,
  gradient2Limit,
  type LimiterToken,
  type LimitFunction,
  type VegasLimitOptions,
  vegasLimit,
  type WindowedLimitOptions,
  windowedLimit,
} from './limit/index.js';
export type { CollapserMetricsSnapshot } from './metrics/collapser-metrics.js';
export { COMMAND_EVENTS, type CommandEvent } from './metrics/events.js';
export {
  type HystrixCollapserJson,
  type HystrixCommandJson,
  type HystrixLatency,
  type HystrixThreadPoolJson,
  toHystrixCollapser,
  toHystrixCommand,
  toHystrixThreadPool,
} from './metrics/hystrix-json.js';
export { createHystrixStream, type HystrixStream, type HystrixStreamOptions } from './metrics/hystrix-stream.js';
export type { MetricsSource } from './metrics/metrics-source.js';
export { type RegisterPrometheusOptions, registerPrometheusMetrics } from './metrics/prometheus/register.js';
export type { EventCounts, HealthCounts } from './metrics/rolling-counts.js';
export { LATENCY_PERCENTILES, type LatencySnapshot } from './metrics/rolling-latency.js';
export type { CommandMetricsSnapshot, GroupMetricsSnapshot } from './metrics/snapshot.js';
export {
  type BreakerPolicy,
  type CommandPolicies,
  type CommandPoliciesOptions,
  defineCommandPolicies,
  type IsolationPolicy,
  type TimeoutPolicy,
} from './policies/define-policies.js';
export type { TimedExecution, TimeoutListener } from './policies/timed-execution.js';
export type { AdaptiveLimiterLike, Permit } from './registry/group-isolation.js';
export { CommandRegistry, defaultRegistry } from './registry/registry.js';
export { fullJitterDelay } from './retry/backoff.js';
export { RetryBudget, type RetryBudgetOptions } from './retry/retry-budget.js';
export { isRetryable, markRetryable } from './retry/retryable.js';
export { type TimedEntry, TimeoutList } from './timeout/timeout-list.js';
export { type WithTimeoutOptions, withTimeout } from './timeout/with-timeout.js';
export { RESILIENCE_TRACER_NAME } from './tracing/command-span.js';
