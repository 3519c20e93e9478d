import type { HistogramData } from '../histogram/latency-histogram.js';

/** Label values of one series, by label name (prom-client writes a number as its decimal text). */
export type PrometheusLabels = Readonly<Record<string, string | number>>;

/** One series of a counter or gauge family: its labels and value. */
export type PrometheusSample = readonly [labels: PrometheusLabels, value: number];

/** One series of a histogram family: its labels and distribution. */
export type PrometheusHistogramSample = readonly [labels: PrometheusLabels, data: HistogramData];

/** A metric family's type, as prom-client names it. */
export type PrometheusMetricType = 'counter' | 'gauge' | 'histogram';

/** One value of a family as prom-client's `get()` returns it (its formatter escapes the label values). */
export interface PrometheusValue {
  /** Label values by name (`le` for a histogram bucket). */
  labels: Record<string, string | number>;
  /** The value. */
  value: number;
  /** The series name when it is not the family's (`…_bucket`, `…_sum`, `…_count`). */
  metricName?: string;
}

/** What a family's `get()` resolves to: prom-client's `MetricObjectWithValues`. */
export interface PrometheusFamily {
  /** Family name. */
  name: string;
  /** HELP text. */
  help: string;
  /** Family type. */
  type: PrometheusMetricType;
  /** How prom-client's cluster mode combines workers' values. */
  aggregator: 'sum';
  /** The series. */
  values: PrometheusValue[];
}

/**
 * A metric family that prom-client's registry serves as any of its own
 * metrics: `get()` reads the live objects when scraped (nothing runs on the
 * hot path), and prom-client formats and escapes the exposition, Prometheus
 * text or OpenMetrics. Build one with {@link prometheusCounter},
 * {@link prometheusGauge} or {@link prometheusHistogram}.
 */
export class PrometheusCollector {
  /** Family name (prom-client rewrites a counter's for OpenMetrics, so it is not readonly). */
  name: string;
  /** HELP text. */
  readonly help: string;
  /** Family type. */
  readonly type: PrometheusMetricType;
  /** How prom-client's cluster mode combines workers' values. */
  readonly aggregator = 'sum' as const;
  readonly #values: () => PrometheusValue[];

  /** @internal use {@link prometheusCounter}, {@link prometheusGauge} or {@link prometheusHistogram}. */
  constructor(name: string, help: string, type: PrometheusMetricType, values: () => PrometheusValue[]) {
    this.name = name;
    this.help = help;
    this.type = type;
    this.#values = values;
  }

  /** The family's series now (prom-client calls it at scrape time). */
  async get(): Promise<PrometheusFamily> {
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values: this.#values() };
  }

  /** prom-client's `resetMetrics()` calls it: the values belong to the live objects, so nothing to reset. */
  reset(): void {}
}

/** The identity of a label set, whatever the order its names were written in. */
function labelKey(labels: PrometheusLabels): string {
  const names = Object.keys(labels);
  if (names.length > 1) names.sort();
  let key = '';
  for (const name of names) key += `${name}\u0000${labels[name]}\u0000`;
  return key;
}

/** How a family combines two series with the same labels (two live objects with the same name). */
export type Combine = (a: number, b: number) => number;

const sum: Combine = (a, b) => a + b;

/**
 * The series of `samples`, those with the same label set combined into one
 * (Prometheus rejects a duplicate series): two producers with the same
 * `source`, two gateways with the same route, two command registries with the
 * same command key.
 */
function plain(samples: () => Iterable<PrometheusSample>, combine: Combine): () => PrometheusValue[] {
  return () => {
    const byKey = new Map<string, PrometheusValue>();
    for (const [labels, value] of samples()) {
      const key = labelKey(labels);
      const seen = byKey.get(key);
      if (seen) seen.value = combine(seen.value, value);
      else byKey.set(key, { labels: { ...labels }, value });
    }
    return [...byKey.values()];
  };
}

/** A counter family (`name` ends in `_total`) whose series `samples` reads at scrape time (same labels: summed). */
export function prometheusCounter(
  name: string,
  help: string,
  samples: () => Iterable<PrometheusSample>,
): PrometheusCollector {
  return new PrometheusCollector(name, help, 'counter', plain(samples, sum));
}

/** Options of {@link prometheusGauge}. */
export interface PrometheusGaugeOptions {
  /** How two series with the same labels combine (default: summed; `Math.max` for a state such as "open"). */
  combine?: Combine | undefined;
}

/** A gauge family whose series `samples` reads at scrape time. */
export function prometheusGauge(
  name: string,
  help: string,
  samples: () => Iterable<PrometheusSample>,
  options: PrometheusGaugeOptions = {},
): PrometheusCollector {
  return new PrometheusCollector(name, help, 'gauge', plain(samples, options.combine ?? sum));
}

interface Distribution {
  labels: PrometheusLabels;
  counts: number[];
  bounds: readonly number[];
  sum: number;
  count: number;
}

/**
 * A histogram family (`name` in base units, e.g. `_seconds`) whose series
 * `samples` reads at scrape time, exposed as cumulative buckets (`le`, ending
 * with `+Inf` = count), `_sum` and `_count`. Series with the same labels are
 * added bucket by bucket (their bounds must be the same).
 */
export function prometheusHistogram(
  name: string,
  help: string,
  samples: () => Iterable<PrometheusHistogramSample>,
): PrometheusCollector {
  const bucket = `${name}_bucket`;
  return new PrometheusCollector(name, help, 'histogram', () => {
    const byKey = new Map<string, Distribution>();
    for (const [labels, data] of samples()) {
      const key = labelKey(labels);
      const seen = byKey.get(key);
      if (seen && sameBounds(seen.bounds, data.buckets)) {
        data.buckets.forEach(([, n], i) => {
          seen.counts[i] = (seen.counts[i] as number) + n;
        });
        seen.sum += data.sum;
        seen.count += data.count;
      } else if (!seen) {
        const bounds = data.buckets.map(([le]) => le);
        byKey.set(key, { labels, bounds, counts: data.buckets.map(([, n]) => n), sum: data.sum, count: data.count });
      } else {
        throw new RangeError(`${name}: two series with the labels ${JSON.stringify(labels)} have different buckets`);
      }
    }
    const values: PrometheusValue[] = [];
    for (const { labels, bounds, counts, sum: total, count } of byKey.values()) {
      bounds.forEach((le, i) => {
        values.push({ labels: { ...labels, le }, value: counts[i] as number, metricName: bucket });
      });
      values.push({ labels: { ...labels, le: '+Inf' }, value: count, metricName: bucket });
      values.push({ labels: { ...labels }, value: total, metricName: `${name}_sum` });
      values.push({ labels: { ...labels }, value: count, metricName: `${name}_count` });
    }
    return values;
  });
}

function sameBounds(bounds: readonly number[], buckets: HistogramData['buckets']): boolean {
  return bounds.length === buckets.length && buckets.every(([le], i) => le === bounds[i]);
}
