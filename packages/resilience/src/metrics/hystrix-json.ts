import type { CollapserMetricsSnapshot } from './collapser-metrics.js';
import type { LatencySnapshot } from './rolling-latency.js';
import type { CommandMetricsSnapshot, GroupMetricsSnapshot } from './snapshot.js';

/** The latency percentiles of Hystrix's dashboard data, in its key order. */
const HYSTRIX_PERCENTILES = ['0', '25', '50', '75', '90', '95', '99', '99.5', '100'] as const;

/** Hystrix's `latencyExecute` / `latencyTotal` object: whole milliseconds by percentile. */
export type HystrixLatency = Record<(typeof HYSTRIX_PERCENTILES)[number], number>;

/**
 * One `HystrixCommand` sample, field for field as Hystrix's
 * `SerialHystrixDashboardData.writeCommandMetrics` writes it.
 */
export interface HystrixCommandJson {
  type: 'HystrixCommand';
  name: string;
  group: string;
  currentTime: number;
  isCircuitBreakerOpen: boolean;
  errorPercentage: number;
  errorCount: number;
  requestCount: number;
  rollingCountBadRequests: number;
  rollingCountCollapsedRequests: number;
  rollingCountEmit: number;
  rollingCountExceptionsThrown: number;
  rollingCountFailure: number;
  rollingCountFallbackEmit: number;
  rollingCountFallbackFailure: number;
  rollingCountFallbackMissing: number;
  rollingCountFallbackRejection: number;
  rollingCountFallbackSuccess: number;
  rollingCountResponsesFromCache: number;
  rollingCountSemaphoreRejected: number;
  rollingCountShortCircuited: number;
  rollingCountSuccess: number;
  rollingCountThreadPoolRejected: number;
  rollingCountTimeout: number;
  currentConcurrentExecutionCount: number;
  rollingMaxConcurrentExecutionCount: number;
  latencyExecute_mean: number;
  latencyExecute: HystrixLatency;
  latencyTotal_mean: number;
  latencyTotal: HystrixLatency;
  propertyValue_circuitBreakerRequestVolumeThreshold: number;
  propertyValue_circuitBreakerSleepWindowInMilliseconds: number;
  propertyValue_circuitBreakerErrorThresholdPercentage: number;
  propertyValue_circuitBreakerForceOpen: boolean;
  propertyValue_circuitBreakerForceClosed: boolean;
  propertyValue_circuitBreakerEnabled: boolean;
  propertyValue_executionIsolationStrategy: 'THREAD' | 'SEMAPHORE';
  propertyValue_executionIsolationThreadTimeoutInMilliseconds: number;
  propertyValue_executionTimeoutInMilliseconds: number;
  propertyValue_executionIsolationThreadInterruptOnTimeout: boolean;
  propertyValue_executionIsolationThreadPoolKeyOverride: string | null;
  propertyValue_executionIsolationSemaphoreMaxConcurrentRequests: number;
  propertyValue_fallbackIsolationSemaphoreMaxConcurrentRequests: number;
  propertyValue_metricsRollingStatisticalWindowInMilliseconds: number;
  propertyValue_requestCacheEnabled: boolean;
  propertyValue_requestLogEnabled: boolean;
  reportingHosts: number;
  threadPool: string;
}

/**
 * One `HystrixThreadPool` sample, field for field as Hystrix's
 * `SerialHystrixDashboardData.writeThreadPoolMetrics` writes it. A Backlot
 * group (bulkhead or adaptive limit) plays the thread pool; its limit is the
 * pool size.
 */
export interface HystrixThreadPoolJson {
  type: 'HystrixThreadPool';
  name: string;
  currentTime: number;
  currentActiveCount: number;
  currentCompletedTaskCount: number;
  currentCorePoolSize: number;
  currentLargestPoolSize: number;
  currentMaximumPoolSize: number;
  currentPoolSize: number;
  currentQueueSize: number;
  currentTaskCount: number;
  rollingCountThreadsExecuted: number;
  rollingMaxActiveThreads: number;
  rollingCountCommandRejections: number;
  propertyValue_queueSizeRejectionThreshold: number;
  propertyValue_metricsRollingStatisticalWindowInMilliseconds: number;
  reportingHosts: number;
}

/** Java's Integer.MAX_VALUE: Backlot does not limit concurrent fallbacks. */
const UNLIMITED = 2_147_483_647;

function latency(snapshot: LatencySnapshot): HystrixLatency {
  const out = {} as HystrixLatency;
  for (const key of HYSTRIX_PERCENTILES) out[key] = Math.round(snapshot.percentiles[key]);
  return out;
}

/** A command's metrics as a Hystrix dashboard `HystrixCommand` sample. */
export function toHystrixCommand(
  m: CommandMetricsSnapshot,
  group: GroupMetricsSnapshot | undefined,
  currentTime: number = Date.now(),
): HystrixCommandJson {
  const c = m.counts;
  const breaker = m.settings.circuitBreaker;
  const timeoutMs = m.settings.timeoutMs === false ? 0 : m.settings.timeoutMs;
  return {
    type: 'HystrixCommand',
    name: m.key,
    group: m.group,
    currentTime,
    isCircuitBreakerOpen: m.circuit !== 'closed',
    errorPercentage: m.health.errorPercentage,
    errorCount: m.health.errorCount,
    requestCount: m.health.totalRequests,
    rollingCountBadRequests: c.badRequest,
    rollingCountCollapsedRequests: c.collapsed,
    rollingCountEmit: 0,
    rollingCountExceptionsThrown: c.exceptionThrown,
    rollingCountFailure: c.failure,
    rollingCountFallbackEmit: 0,
    rollingCountFallbackFailure: c.fallbackFailure,
    rollingCountFallbackMissing: c.fallbackMissing,
    rollingCountFallbackRejection: 0,
    rollingCountFallbackSuccess: c.fallbackSuccess,
    rollingCountResponsesFromCache: c.responseFromCache,
    rollingCountSemaphoreRejected: c.rejected,
    rollingCountShortCircuited: c.shortCircuited,
    rollingCountSuccess: c.success,
    rollingCountThreadPoolRejected: 0,
    rollingCountTimeout: c.timeout,
    currentConcurrentExecutionCount: m.concurrency.current,
    rollingMaxConcurrentExecutionCount: m.concurrency.rollingMax,
    latencyExecute_mean: Math.round(m.latencyExecute.mean),
    latencyExecute: latency(m.latencyExecute),
    latencyTotal_mean: Math.round(m.latencyTotal.mean),
    latencyTotal: latency(m.latencyTotal),
    propertyValue_circuitBreakerRequestVolumeThreshold: breaker.requestVolumeThreshold,
    propertyValue_circuitBreakerSleepWindowInMilliseconds: breaker.sleepWindowMs,
    propertyValue_circuitBreakerErrorThresholdPercentage: breaker.errorThresholdPercentage,
    propertyValue_circuitBreakerForceOpen: breaker.forceOpen,
    propertyValue_circuitBreakerForceClosed: breaker.forceClosed,
    propertyValue_circuitBreakerEnabled: breaker.enabled,
    propertyValue_executionIsolationStrategy: 'SEMAPHORE',
    propertyValue_executionIsolationThreadTimeoutInMilliseconds: timeoutMs,
    propertyValue_executionTimeoutInMilliseconds: timeoutMs,
    propertyValue_executionIsolationThreadInterruptOnTimeout: true,
    propertyValue_executionIsolationThreadPoolKeyOverride: null,
    propertyValue_executionIsolationSemaphoreMaxConcurrentRequests: group?.limit ?? 10,
    propertyValue_fallbackIsolationSemaphoreMaxConcurrentRequests: UNLIMITED,
    propertyValue_metricsRollingStatisticalWindowInMilliseconds: m.windowMs,
    propertyValue_requestCacheEnabled: m.settings.requestCacheEnabled,
    propertyValue_requestLogEnabled: false,
    reportingHosts: 1,
    threadPool: m.group,
  };
}

/** A group's isolation as a Hystrix dashboard `HystrixThreadPool` sample. */
export function toHystrixThreadPool(g: GroupMetricsSnapshot, currentTime: number = Date.now()): HystrixThreadPoolJson {
  return {
    type: 'HystrixThreadPool',
    name: g.group,
    currentTime,
    currentActiveCount: g.active,
    currentCompletedTaskCount: g.completed,
    currentCorePoolSize: g.limit,
    currentLargestPoolSize: g.largestActive,
    currentMaximumPoolSize: g.limit,
    currentPoolSize: g.limit,
    currentQueueSize: g.queued,
    currentTaskCount: g.completed + g.active + g.queued,
    rollingCountThreadsExecuted: g.rollingExecuted,
    rollingMaxActiveThreads: g.rollingMaxActive,
    rollingCountCommandRejections: g.rollingRejected,
    propertyValue_queueSizeRejectionThreshold: g.maxQueue,
    propertyValue_metricsRollingStatisticalWindowInMilliseconds: g.windowMs,
    reportingHosts: 1,
  };
}

/** The batch-size percentiles of Hystrix's `HystrixCollapser` sample, in its key order. */
const BATCH_PERCENTILES = ['25', '50', '75', '90', '95', '99', '99.5', '100'] as const;

/**
 * One `HystrixCollapser` sample, field for field as Hystrix's
 * `SerialHystrixDashboardData.writeCollapserMetrics` writes it.
 */
export interface HystrixCollapserJson {
  type: 'HystrixCollapser';
  name: string;
  currentTime: number;
  rollingCountRequestsBatched: number;
  rollingCountBatches: number;
  rollingCountResponsesFromCache: number;
  batchSize_mean: number;
  batchSize: Record<(typeof BATCH_PERCENTILES)[number], number>;
  propertyValue_requestCacheEnabled: boolean;
  propertyValue_maxRequestsInBatch: number;
  propertyValue_timerDelayInMilliseconds: number;
  reportingHosts: number;
}

/** A collapser's metrics as a Hystrix dashboard `HystrixCollapser` sample. */
export function toHystrixCollapser(
  m: CollapserMetricsSnapshot,
  currentTime: number = Date.now(),
): HystrixCollapserJson {
  const batchSize = {} as HystrixCollapserJson['batchSize'];
  for (const key of BATCH_PERCENTILES) batchSize[key] = Math.round(m.batchSize.percentiles[key]);
  return {
    type: 'HystrixCollapser',
    name: m.name,
    currentTime,
    rollingCountRequestsBatched: m.requestsBatched,
    rollingCountBatches: m.batches,
    rollingCountResponsesFromCache: m.responsesFromCache,
    batchSize_mean: Math.round(m.batchSize.mean),
    batchSize,
    // Duplicate keys in one batch are sent once and answered from it: the collapser's request cache.
    propertyValue_requestCacheEnabled: true,
    propertyValue_maxRequestsInBatch: m.settings.maxBatchSize,
    propertyValue_timerDelayInMilliseconds: m.settings.delayMs,
    reportingHosts: 1,
  };
}
