import { createRequire } from 'node:module';
import { EventsError } from '../../errors.js';
import { ACK_BOUNDS_SECONDS, livePipelines, liveProducers, type PartitionStateSample } from './live.js';

/**
 * What `@backlot/events` needs of a prom-client `Registry`, structurally (so
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

type Labels = Record<string, string | number>;

interface Value {
  labels: Labels;
  value: number;
  metricName?: string;
}

type MetricType = 'counter' | 'gauge' | 'histogram';

/** A family prom-client serves as its own: `get()` reads the live producers and pipelines when scraped. */
class EventsCollector {
  name: string;
  readonly aggregator = 'sum';
  readonly help: string;
  readonly type: MetricType;
  readonly #values: () => Value[];

  constructor(name: string, help: string, type: MetricType, values: () => Value[]) {
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

/**
 * Sums values of the same label set: two producers with the same `source` (or
 * pipelines with the same `groupId`) in one process are one series, not a
 * duplicate Prometheus rejects. `combine` is `max` for gauges of state.
 */
function merged(
  rows: Iterable<[Labels, number]>,
  combine: (a: number, b: number) => number = (a, b) => a + b,
): Value[] {
  const byKey = new Map<string, Value>();
  for (const [labels, value] of rows) {
    const key = JSON.stringify(labels);
    const seen = byKey.get(key);
    if (seen) seen.value = combine(seen.value, value);
    else byKey.set(key, { labels, value });
  }
  return [...byKey.values()];
}

function* perProducer(field: 'sent' | 'spooled' | 'deadLettered' | 'degraded'): Iterable<[Labels, number]> {
  for (const sample of liveProducers.samples()) yield [{ producer: sample.producer }, Number(sample[field])];
}

/** One row per owned partition of each pipeline with checkpoints; a partition without a value yields none. */
function* perPartition(field: (p: PartitionStateSample) => number | undefined): Iterable<[Labels, number]> {
  for (const { pipeline, checkpoints } of livePipelines.samples()) {
    for (const p of checkpoints?.partitions ?? []) {
      const value = field(p);
      if (value !== undefined) yield [{ pipeline, topic: p.topic, partition: p.partition }, value];
    }
  }
}

function ackHistogram(name: string): Value[] {
  const byProducer = new Map<string, { buckets: number[]; count: number; sum: number }>();
  for (const { producer, ack } of liveProducers.samples()) {
    const seen = byProducer.get(producer);
    if (!seen) byProducer.set(producer, { buckets: [...ack.buckets], count: ack.count, sum: ack.sum });
    else {
      ack.buckets.forEach((n, i) => {
        seen.buckets[i] = (seen.buckets[i] ?? 0) + n;
      });
      seen.count += ack.count;
      seen.sum += ack.sum;
    }
  }
  const values: Value[] = [];
  for (const [producer, { buckets, count, sum }] of byProducer) {
    const labels = { producer };
    ACK_BOUNDS_SECONDS.forEach((le, i) => {
      values.push({ labels: { ...labels, le }, value: buckets[i] ?? 0, metricName: `${name}_bucket` });
    });
    values.push({ labels: { ...labels, le: '+Inf' }, value: count, metricName: `${name}_bucket` });
    values.push({ labels, value: sum, metricName: `${name}_sum` });
    values.push({ labels, value: count, metricName: `${name}_count` });
  }
  return values;
}

function collectors(): EventsCollector[] {
  const ack = 'backlot_events_ack_duration_seconds';
  return [
    new EventsCollector(
      'backlot_events_emitted_total',
      'Events accepted by emit(), by producer (its source) and event name.',
      'counter',
      () =>
        merged(
          (function* () {
            for (const sample of liveProducers.samples()) {
              for (const [event, n] of sample.emittedByEvent) yield [{ producer: sample.producer, event }, n];
            }
          })(),
        ),
    ),
    new EventsCollector('backlot_events_sent_total', 'Events acknowledged by the broker, by producer.', 'counter', () =>
      merged(perProducer('sent')),
    ),
    new EventsCollector('backlot_events_spooled_total', 'Events written to the spool, by producer.', 'counter', () =>
      merged(perProducer('spooled')),
    ),
    new EventsCollector(
      'backlot_events_dead_lettered_total',
      'Events the broker refused for good (poison), dead-lettered, by producer.',
      'counter',
      () => merged(perProducer('deadLettered')),
    ),
    new EventsCollector(
      'backlot_events_degraded',
      'Whether the producer’s last send failed (1) or not (0).',
      'gauge',
      () => merged(perProducer('degraded'), Math.max),
    ),
    new EventsCollector(
      ack,
      'Emit-to-acknowledgement latency of the events sent, by producer (since it was created).',
      'histogram',
      () => ackHistogram(ack),
    ),
    new EventsCollector(
      'backlot_pipeline_lag',
      'Messages waiting in each consumed partition, as last reported by the transport.',
      'gauge',
      () =>
        merged(
          (function* () {
            for (const { pipeline, lag } of livePipelines.samples()) {
              for (const { topic, partition, lag: n } of lag) yield [{ pipeline, topic, partition }, n];
            }
          })(),
        ),
    ),
    new EventsCollector(
      'backlot_pipeline_consumed_total',
      'Messages consumed, by pipeline (its groupId).',
      'counter',
      () =>
        merged(
          (function* () {
            for (const { pipeline, consumed } of livePipelines.samples()) yield [{ pipeline }, consumed];
          })(),
        ),
    ),
    new EventsCollector(
      'backlot_pipeline_dead_lettered_total',
      'Messages that failed to decode or process, dead-lettered, by pipeline.',
      'counter',
      () =>
        merged(
          (function* () {
            for (const { pipeline, deadLettered } of livePipelines.samples()) yield [{ pipeline }, deadLettered];
          })(),
        ),
    ),
    new EventsCollector(
      'backlot_pipeline_checkpoints_total',
      'Checkpoints committed, by pipeline (pipelines with checkpoints only).',
      'counter',
      () =>
        merged(
          (function* () {
            for (const { pipeline, checkpoints } of livePipelines.samples()) {
              if (checkpoints) yield [{ pipeline }, checkpoints.total];
            }
          })(),
        ),
    ),
    new EventsCollector(
      'backlot_pipeline_state_bytes',
      'Bytes of the last checkpointed window state of each owned partition (pipelines with checkpoints only).',
      'gauge',
      () => merged(perPartition((p) => p.bytes)),
    ),
    new EventsCollector(
      'backlot_pipeline_restore_seconds',
      'How long restoring the window state of each owned partition took when it was assigned (pipelines with checkpoints only).',
      'gauge',
      () =>
        merged(
          perPartition((p) => p.restoreSeconds),
          Math.max,
        ),
    ),
    new EventsCollector(
      'backlot_pipeline_last_checkpoint_timestamp_seconds',
      'When the last checkpoint of each owned partition committed, in seconds since the epoch (pipelines with checkpoints only; absent before the first).',
      'gauge',
      () =>
        merged(
          perPartition((p) => p.lastCheckpointSeconds),
          Math.max,
        ),
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
    throw new EventsError(
      'BACKLOT_MISSING_PEER',
      "registerPrometheusMetrics() without a registry uses prom-client's global registry, but prom-client (an optional peer dependency) is not installed: run `npm install prom-client`, or pass a Registry",
      { cause: error },
    );
  }
}

/**
 * Registers the events metric families in a prom-client `Registry` (default:
 * prom-client's global `register`): collectors that read, when scraped, every
 * producer and pipeline of the process not yet closed (nothing is done on the
 * emit path). Returns the function that unregisters them.
 *
 * Producers are labelled by their `source`, pipelines by their `groupId`
 * (several with the same label are summed into one series). Families:
 * `backlot_events_emitted_total{producer,event}`, `backlot_events_sent_total{producer}`,
 * `backlot_events_spooled_total{producer}`, `backlot_events_dead_lettered_total{producer}`,
 * `backlot_events_degraded{producer}` (gauge), `backlot_events_ack_duration_seconds{producer}`
 * (histogram), `backlot_pipeline_lag{pipeline,topic,partition}`,
 * `backlot_pipeline_consumed_total{pipeline}`, `backlot_pipeline_dead_lettered_total{pipeline}`
 * and, with checkpoints, `backlot_pipeline_checkpoints_total{pipeline}` and per owned partition
 * `backlot_pipeline_state_bytes{pipeline,topic,partition}`,
 * `backlot_pipeline_restore_seconds{pipeline,topic,partition}` and
 * `backlot_pipeline_last_checkpoint_timestamp_seconds{pipeline,topic,partition}` (gauges).
 *
 * @throws {EventsError} `BACKLOT_MISSING_PEER` without `registry` when prom-client is not installed.
 *
 * @example
 * ```ts
 * import { Registry } from 'prom-client';
 * import { registerPrometheusMetrics } from '@backlot/events';
 *
 * const registry = new Registry();
 * const unregister = registerPrometheusMetrics(registry);
 * console.log(await registry.metrics());
 * unregister();
 * ```
 */
export function registerPrometheusMetrics(registry?: PrometheusRegistry): () => void {
  const target = registry ?? globalRegistry();
  const register = target.registerMetric as (metric: EventsCollector) => void;
  const added: [string, EventsCollector][] = [];
  const unregister = () => {
    for (const [name, collector] of added) {
      if (target.getSingleMetric(name) === collector) target.removeSingleMetric(name);
    }
    added.length = 0;
  };
  try {
    for (const collector of collectors()) {
      register.call(target, collector);
      added.push([collector.name, collector]);
    }
  } catch (error) {
    unregister();
    throw error;
  }
  return unregister;
}
