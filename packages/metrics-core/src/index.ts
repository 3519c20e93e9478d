// The metrics kernel the Backlot packages share: one histogram, one way to
// expose live objects to prom-client.
export {
  countAtOrBelow,
  type HistogramData,
  LATENCY_BUCKETS_SECONDS,
  LatencyHistogram,
  newMicrosecondHistogram,
  toMicroseconds,
} from './histogram/latency-histogram.js';
export {
  type Combine,
  PrometheusCollector,
  type PrometheusFamily,
  type PrometheusGaugeOptions,
  type PrometheusHistogramSample,
  type PrometheusLabels,
  type PrometheusMetricType,
  type PrometheusSample,
  type PrometheusValue,
  prometheusCounter,
  prometheusGauge,
  prometheusHistogram,
} from './prometheus/collector.js';
export {
  loadPromClient,
  MISSING_PROM_CLIENT_MESSAGE,
  type MissingPromClient,
  type PromClientModule,
  prometheusRegistry,
  type ServingPrometheusRegistry,
} from './prometheus/prom-client.js';
export { type PrometheusRegistry, registerCollectors } from './prometheus/register.js';
