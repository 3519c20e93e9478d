import type { PrometheusCollector } from './collector.js';

/**
 * What Backlot needs of a prom-client `Registry` (structurally, so that
 * prom-client stays an optional peer dependency and two copies of it in one
 * tree both work).
 */
export interface PrometheusRegistry {
  /** prom-client's `registerMetric`: throws when a metric of the same name is registered. */
  registerMetric: (metric: never) => void;
  /** prom-client's `removeSingleMetric`. */
  removeSingleMetric(name: string): void;
  /** prom-client's `getSingleMetric`. */
  getSingleMetric(name: string): unknown;
}

/**
 * Registers `collectors` in `registry`, every one or none: a name clash
 * unregisters those already added and throws prom-client's error. Returns
 * the function that unregisters them (only the ones still registered as
 * these collectors; calling it twice does nothing more).
 */
export function registerCollectors(
  registry: PrometheusRegistry,
  collectors: readonly PrometheusCollector[],
): () => void {
  const register = registry.registerMetric as (metric: PrometheusCollector) => void;
  // Names as registered: prom-client renames a counter (drops `_total`) when it serves OpenMetrics.
  const added: [string, PrometheusCollector][] = [];
  const unregister = () => {
    for (const [name, collector] of added) {
      if (registry.getSingleMetric(name) === collector) registry.removeSingleMetric(name);
    }
    added.length = 0;
  };
  try {
    for (const collector of collectors) {
      const name = collector.name;
      register.call(registry, collector);
      added.push([name, collector]);
    }
  } catch (error) {
    unregister();
    throw error;
  }
  return unregister;
}
