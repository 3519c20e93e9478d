import {
  type PrometheusCollector,
  type PrometheusHistogramSample,
  type PrometheusRegistry,
  type PrometheusSample,
  prometheusCounter,
  prometheusGauge,
  prometheusHistogram,
  prometheusRegistry,
  registerCollectors,
} from '@backlot/metrics-core';
import { EventsError } from '../../errors.js';
import { livePipelines, liveProducers, type PartitionStateSample } from './live.js';

// Several producers with the same `source` (or pipelines with the same
// `groupId`) in one process are one series: the collectors sum them.

function perProducer(field: 'sent' | 'spooled' | 'deadLettered' | 'degraded'): () => Iterable<PrometheusSample> {
  return function* () {
    for (const sample of liveProducers.samples()) yield [{ producer: sample.producer }, Number(sample[field])];
  };
}

/** One series per owned partition of each pipeline with checkpoints; a partition without a value yields none. */
function perPartition(field: (p: PartitionStateSample) => number | undefined): () => Iterable<PrometheusSample> {
  return function* () {
    for (const { pipeline, checkpoints } of livePipelines.samples()) {
      for (const p of checkpoints?.partitions ?? []) {
        const value = field(p);
        if (value !== undefined) yield [{ pipeline, topic: p.topic, partition: p.partition }, value];
      }
    }
  };
}

function collectors(): PrometheusCollector[] {
  return [
    prometheusCounter(
      'backlot_events_emitted_total',
      'Events accepted by emit(), by producer (its source) and event name.',
      function* () {
        for (const sample of liveProducers.samples()) {
          for (const [event, n] of sample.emittedByEvent) yield [{ producer: sample.producer, event }, n];
        }
      },
    ),
    prometheusCounter(
      'backlot_events_sent_total',
      'Events acknowledged by the broker, by producer.',
      perProducer('sent'),
    ),
    prometheusCounter(
      'backlot_events_spooled_total',
      'Events written to the spool, by producer.',
      perProducer('spooled'),
    ),
    prometheusCounter(
      'backlot_events_dead_lettered_total',
      'Events the broker refused for good (poison), dead-lettered, by producer.',
      perProducer('deadLettered'),
    ),
    prometheusGauge(
      'backlot_events_degraded',
      'Whether the producer’s last send failed (1) or not (0).',
      perProducer('degraded'),
      { combine: Math.max },
    ),
    prometheusHistogram(
      'backlot_events_ack_duration_seconds',
      'Emit-to-acknowledgement latency of the events sent, by producer (since it was created).',
      function* (): Iterable<PrometheusHistogramSample> {
        for (const { producer, ack } of liveProducers.samples()) yield [{ producer }, ack];
      },
    ),
    prometheusGauge(
      'backlot_pipeline_lag',
      'Messages waiting in each consumed partition, as last reported by the transport.',
      function* () {
        for (const { pipeline, lag } of livePipelines.samples()) {
          for (const { topic, partition, lag: n } of lag) yield [{ pipeline, topic, partition }, n];
        }
      },
    ),
    prometheusCounter('backlot_pipeline_consumed_total', 'Messages consumed, by pipeline (its groupId).', function* () {
      for (const { pipeline, consumed } of livePipelines.samples()) yield [{ pipeline }, consumed];
    }),
    prometheusCounter(
      'backlot_pipeline_dead_lettered_total',
      'Messages that failed to decode or process, dead-lettered, by pipeline.',
      function* () {
        for (const { pipeline, deadLettered } of livePipelines.samples()) yield [{ pipeline }, deadLettered];
      },
    ),
    prometheusCounter(
      'backlot_pipeline_checkpoints_total',
      'Checkpoints committed, by pipeline (pipelines with checkpoints only).',
      function* () {
        for (const { pipeline, checkpoints } of livePipelines.samples()) {
          if (checkpoints) yield [{ pipeline }, checkpoints.total];
        }
      },
    ),
    prometheusGauge(
      'backlot_pipeline_state_bytes',
      'Bytes of the last checkpointed window state of each owned partition (pipelines with checkpoints only).',
      perPartition((p) => p.bytes),
    ),
    prometheusGauge(
      'backlot_pipeline_restore_seconds',
      'How long restoring the window state of each owned partition took when it was assigned (pipelines with checkpoints only).',
      perPartition((p) => p.restoreSeconds),
      { combine: Math.max },
    ),
    prometheusGauge(
      'backlot_pipeline_last_checkpoint_timestamp_seconds',
      'When the last checkpoint of each owned partition committed, in seconds since the epoch (pipelines with checkpoints only; absent before the first).',
      perPartition((p) => p.lastCheckpointSeconds),
      { combine: Math.max },
    ),
  ];
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
  const target = prometheusRegistry(
    registry,
    (message, cause) => new EventsError('BACKLOT_MISSING_PEER', message, { cause }),
  );
  return registerCollectors(target, collectors());
}
