import { createRequire } from 'node:module';
import { ResilienceError } from '../../errors.js';
import type { HistogramData } from '../latency-histogram.js';

/** Label values of one series, by label name. */
export type PrometheusLabels = Readonly<Record<string, string>>;

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

/** One series of a counter or gauge family: its labels and value. */
export type PrometheusSample = readonly [labels: PrometheusLabels, value: number];

/** One series of a histogram family: its labels and distribution. */
export type PrometheusHistogramSample = readonly [labels: PrometheusLabels, data: HistogramData];

interface Value {
  labels: Record<string, string | number>;
  value: number;
  metricName?: string;
}

/**
 * A metric family that prom-client's registry serves as any of its own
 * metrics: `get()` reads the live objects when scraped (nothing runs on the
 * hot path), and prom-client formats and escapes the exposition, Prometheus
 * text or OpenMetrics.
 */
export class PrometheusCollector {
  /** Family name (prom-client rewrites a counter's for OpenMetrics, so it is not readonly). */
  name: string;
  /** HELP text. */
  readonly help: string;
  /** Family type. */
  readonly type: 'counter' | 'gauge' | 'histogram';
  /** How prom-client's cluster mode combines workers' values. */
  readonly aggregator = 'sum';
  readonly #values: () => Value[];

  /** @internal use {@link prometheusCounter}, {@link prometheusGauge} or {@link prometheusHistogram}. */
  constructor(name: string, help: string, type: 'counter' | 'gauge' | 'histogram', values: () => Value[]) {
    this.name = name;
    this.help = help;
    this.type = type;
    this.#values = values;
  }

  /** The family's series now (prom-client calls it at scrape time). */
  async get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: Value[] }> {
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values: this.#values() };
  }

  /** prom-client's `resetMetrics()` calls it: the values belong to the live objects, so nothing to reset. */
  reset(): void {}
}

const plain = (samples: () => Iterable<PrometheusSample>) => () => {
  const values: Value[] = [];
  for (const [labels, value] of samples()) values.push({ labels: { ...labels }, value });
  return values;
};

/** A counter family (`name` ends in `_total`) whose series `samples` reads at scrape time. */
export function prometheusCounter(
  name: string,
  help: string,
  samples: () => Iterable<PrometheusSample>,
): PrometheusCollector {
  return new PrometheusCollector(name, help, 'counter', plain(samples));
}

/** A gauge family whose series `samples` reads at scrape time. */
export function prometheusGauge(
  name: string,
  help: string,
  samples: () => Iterable<PrometheusSample>,
): PrometheusCollector {
  return new PrometheusCollector(name, help, 'gauge', plain(samples));
}

/**
 * A histogram family (`name` in base units, e.g. `_seconds`) whose series
 * `samples` reads at scrape time, as cumulative buckets, sum and count.
 */
export function prometheusHistogram(
  name: string,
  help: string,
  samples: () => Iterable<PrometheusHistogramSample>,
): PrometheusCollector {
  return new PrometheusCollector(name, help, 'histogram', () => {
    const values: Value[] = [];
    for (const [labels, data] of samples()) {
      for (const [le, count] of data.buckets) {
        values.push({ labels: { ...labels, le }, value: count, metricName: `${name}_bucket` });
      }
      values.push({ labels: { ...labels, le: '+Inf' }, value: data.count, metricName: `${name}_bucket` });
      values.push({ labels: { ...labels }, value: data.sum, metricName: `${name}_sum` });
      values.push({ labels: { ...labels }, value: data.count, metricName: `${name}_count` });
    }
    return values;
  });
}

/** What Backlot uses of the prom-client module, typed structurally (prom-client is an optional peer). */
export interface PromClientModule {
  /** The global registry. */
  register: PrometheusRegistry;
  /** The `Registry` class. */
  Registry: (new (
    contentType?: string,
  ) => PrometheusRegistry & { metrics(): Promise<string>; readonly contentType: string }) & {
    readonly OPENMETRICS_CONTENT_TYPE: string;
  };
  /** Registers Node's default process metrics in a registry. */
  collectDefaultMetrics(options: { register: PrometheusRegistry }): void;
}

/**
 * Loads prom-client (`require('prom-client')`, from this package's location).
 * @throws {ResilienceError} `BACKLOT_MISSING_PEER` when prom-client is not installed.
 */
export function loadPromClient(): PromClientModule {
  // `require` of this module's location, in both builds: CommonJS has `__filename`; ESM has
  // `import.meta.url` (a bare `require` would be the bundler's shim, which throws in ESM).
  const load = createRequire(typeof __filename === 'string' ? __filename : import.meta.url);
  try {
    return load('prom-client') as PromClientModule;
  } catch (error) {
    throw new ResilienceError(
      'BACKLOT_MISSING_PEER',
      'Prometheus metrics need prom-client, an optional peer dependency that is not installed: run `npm install prom-client`',
      { cause: error },
    );
  }
}

/**
 * prom-client's global registry (`require('prom-client').register`).
 * @throws {ResilienceError} `BACKLOT_MISSING_PEER` when prom-client is not installed.
 */
export function defaultPrometheusRegistry(): PrometheusRegistry {
  return loadPromClient().register;
}

/**
 * Registers `collectors` in `registry` (every one or none: a name clash
 * unregisters those already added and throws prom-client's error). Returns
 * the function that unregisters them.
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
