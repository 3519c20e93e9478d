import { createRequire } from 'node:module';
import { StorageError } from '../errors.js';
import { storageStats } from './operation-stats.js';

/**
 * What `@backlot/storage` needs of a prom-client `Registry`, structurally (so
 * that prom-client stays an optional peer dependency).
 */
export interface PrometheusRegistry {
  /** prom-client's `registerMetric`: throws when a metric of the same name is registered. */
  registerMetric: (metric: never) => void;
  /** prom-client's `removeSingleMetric`. */
  removeSingleMetric(name: string): void;
  /** prom-client's `getSingleMetric`. */
  getSingleMetric(name: string): unknown;
}

interface Value {
  labels: Record<string, string | number>;
  value: number;
  metricName?: string;
}

/** A family prom-client serves as its own: `get()` reads the live stats when scraped. */
class StorageCollector {
  name: string;
  readonly aggregator = 'sum';
  readonly help: string;
  readonly type: 'counter' | 'histogram';
  readonly #values: () => Value[];

  constructor(name: string, help: string, type: 'counter' | 'histogram', values: () => Value[]) {
    this.name = name;
    this.help = help;
    this.type = type;
    this.#values = values;
  }

  async get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: Value[] }> {
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values: this.#values() };
  }

  reset(): void {}
}

function collectors(): StorageCollector[] {
  const operations = 'backlot_storage_operations_total';
  const duration = 'backlot_storage_operation_duration_seconds';
  return [
    new StorageCollector(
      operations,
      'Store operations completed, by adapter, operation and outcome.',
      'counter',
      () => {
        const values: Value[] = [];
        for (const [store, byOperation] of storageStats) {
          for (const [operation, stats] of byOperation) {
            for (const [outcome, value] of stats.outcomes)
              values.push({ labels: { store, operation, outcome }, value });
          }
        }
        return values;
      },
    ),
    new StorageCollector(
      duration,
      'Store operation latency (a stream read: until the stream is handed out), by adapter and operation.',
      'histogram',
      () => {
        const values: Value[] = [];
        for (const [store, byOperation] of storageStats) {
          for (const [operation, stats] of byOperation) {
            const { buckets, sum, count } = stats.latency.data();
            if (count === 0) continue;
            const labels = { store, operation };
            for (const [le, n] of buckets)
              values.push({ labels: { ...labels, le }, value: n, metricName: `${duration}_bucket` });
            values.push({ labels: { ...labels, le: '+Inf' }, value: count, metricName: `${duration}_bucket` });
            values.push({ labels, value: sum, metricName: `${duration}_sum` });
            values.push({ labels, value: count, metricName: `${duration}_count` });
          }
        }
        return values;
      },
    ),
  ];
}

function globalRegistry(): PrometheusRegistry {
  // `require` of this module's location, in both builds: CommonJS has `__filename`; ESM has
  // `import.meta.url` (a bare `require` would be the bundler's shim, which throws in ESM).
  const load = createRequire(typeof __filename === 'string' ? __filename : import.meta.url);
  try {
    return (load('prom-client') as { register: PrometheusRegistry }).register;
  } catch (error) {
    throw new StorageError(
      'BACKLOT_STORAGE_UNSUPPORTED',
      "registerPrometheusMetrics() without a registry uses prom-client's global registry, but prom-client (an optional peer dependency) is not installed: run `npm install prom-client`, or pass a Registry",
      { cause: error },
    );
  }
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
  const target = registry ?? globalRegistry();
  const register = target.registerMetric as (metric: StorageCollector) => void;
  const added: [string, StorageCollector][] = [];
  const unregister = () => {
    for (const [name, collector] of added) {
      if (target.getSingleMetric(name) === collector) target.removeSingleMetric(name);
    }
    added.length = 0;
  };
  try {
    for (const collector of collectors()) {
      const name = collector.name;
      register.call(target, collector);
      added.push([name, collector]);
    }
  } catch (error) {
    unregister();
    throw error;
  }
  return unregister;
}
