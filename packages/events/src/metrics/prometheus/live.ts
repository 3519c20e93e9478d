import type { HistogramData } from '@backlot/metrics-core';

/** @internal what a producer reports at scrape time. */
export interface ProducerSample {
  /** The producer's `source`. */
  producer: string;
  emittedByEvent: ReadonlyMap<string, number>;
  sent: number;
  spooled: number;
  deadLettered: number;
  degraded: boolean;
  /** Ack latency since the producer was created, at `ACK_BOUNDS_SECONDS`. */
  ack: HistogramData;
}

/** @internal the state of one owned partition of a pipeline with checkpoints, at scrape time. */
export interface PartitionStateSample {
  topic: string;
  partition: number;
  /** Bytes of its last checkpointed window state. */
  bytes: number;
  /** How long restoring its state took when it was assigned, in seconds. */
  restoreSeconds: number;
  /** When its last checkpoint committed, in seconds since the epoch (`undefined` before the first). */
  lastCheckpointSeconds: number | undefined;
}

/** @internal what a pipeline reports at scrape time. */
export interface PipelineSample {
  /** The pipeline's `groupId`. */
  pipeline: string;
  consumed: number;
  deadLettered: number;
  lag: { topic: string; partition: number; lag: number }[];
  /** Only with checkpoints. */
  checkpoints: { total: number; partitions: PartitionStateSample[] } | undefined;
}

/** @internal bucket bounds of `backlot_events_ack_duration_seconds`. */
export const ACK_BOUNDS_SECONDS: readonly number[] = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
];

interface Sampled<T> {
  prometheusSample(): T;
}

/**
 * @internal the producers and pipelines of the process not yet closed, held
 * weakly (one never closed does not leak), read only when a registry is scraped.
 */
class Live<T> {
  readonly #refs = new Set<WeakRef<Sampled<T>>>();
  readonly #byObject = new WeakMap<Sampled<T>, WeakRef<Sampled<T>>>();

  add(object: Sampled<T>): void {
    const ref = new WeakRef(object);
    this.#refs.add(ref);
    this.#byObject.set(object, ref);
  }

  delete(object: Sampled<T>): void {
    const ref = this.#byObject.get(object);
    if (ref) this.#refs.delete(ref);
  }

  samples(): T[] {
    const out: T[] = [];
    for (const ref of this.#refs) {
      const object = ref.deref();
      if (object) out.push(object.prometheusSample());
      else this.#refs.delete(ref);
    }
    return out;
  }
}

/** @internal */
export const liveProducers = new Live<ProducerSample>();
/** @internal */
export const livePipelines = new Live<PipelineSample>();
