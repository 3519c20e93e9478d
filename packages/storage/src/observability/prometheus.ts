import {
  type PrometheusCollector,
  type PrometheusHistogramSample,
  type PrometheusRegistry,
  type PrometheusSample,
  prometheusCounter,
  prometheusHistogram,
  prometheusRegistry,
  registerCollectors,
} from '@backlot/metrics-core';
import { MissingPeerError } from '../errors.js';
import { storageStats } from './operation-stats.js';

function collectors(): PrometheusCollector[] {
  return [
    prometheusCounter(
      'backlot_storage_operations_total',
      'Store operations completed, by adapter, operation and outcome.',
      function* (): Iterable<PrometheusSample> {
        for (const [store, byOperation] of storageStats) {
          for (const [operation, stats] of byOperation) {
            for (const [outcome, value] of stats.outcomes) yield [{ store, operation, outcome }, value];
          }
        }
      },
    ),
    prometheusHistogram(
      'backlot_storage_operation_duration_seconds',
      'Store operation latency (a stream read: until the stream is handed out), by adapter and operation.',
      function* (): Iterable<PrometheusHistogramSample> {
        for (const [store, byOperation] of storageStats) {
          for (const [operation, stats] of byOperation) {
            if (stats.latency.count > 0) yield [{ store, operation }, stats.latency.data()];
          }
        }
      },
    ),
  ];
}

/**
 * Registers the storage metric families in a prom-client `Registry`
 * (default: prom-client's global `register`): collectors that read, when
 * scraped, what every store of the process (memory, filesystem, S3, Cassandra)
 * counted.
 * Returns the function that unregisters them.
 *
 * Families: `backlot_storage_operations_total{store,operation,outcome}` and
 * `backlot_storage_operation_duration_seconds{store,operation}` (histogram).
 * `store` is the adapter name; `outcome` is `success` or the error's storage
 * code (`not_found`, `precondition_failed`, `backend`, …).
 *
 * @throws {MissingPeerError} `BACKLOT_STORAGE_MISSING_PEER` without `registry` when prom-client is not installed
 * (install it, or pass a `Registry`).
 *
 * @example
 * ```ts
 * import { Registry } from 'prom-client';
 * import { createMemoryStore, registerPrometheusMetrics } from '@backlot/storage';
 *
 * const registry = new Registry();
 * const unregister = registerPrometheusMetrics(registry);
 * await createMemoryStore().put('a', 'b');
 * console.log(await registry.metrics());
 * unregister();
 * ```
 */
export function registerPrometheusMetrics(registry?: PrometheusRegistry): () => void {
  const target = prometheusRegistry(
    registry,
    (_message, cause) =>
      new MissingPeerError(
        "registerPrometheusMetrics() without a registry (prom-client's global one)",
        ['prom-client'],
        {
          cause,
        },
      ),
  );
  return registerCollectors(target, collectors());
}
