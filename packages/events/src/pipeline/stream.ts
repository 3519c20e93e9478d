import type { RecordPosition, Sink } from '../sinks/types.js';
import { PartitionedWindowAggregator } from '../window/partitioned-window.js';
import { WindowAggregator, type WindowOptions, type WindowResult } from '../window/window.js';

/** @internal a node of the processing graph. */
export interface Node<T> {
  push(value: T, position: RecordPosition): Promise<void> | void;
}

/** @internal what the pipeline needs to know about the graph: its sinks and windows. */
export interface Graph {
  sinks: Sink<never>[];
  windows: WindowAggregator<never, unknown>[];
  /** With checkpoints: windows kept per source partition, checkpointed to a changelog (then `windows` stays empty). */
  partitioned?: PartitionedWindowAggregator<never, unknown>[] | undefined;
}

/**
 * A typed stream of values inside a pipeline. Each operator returns a new
 * stream; a stream may feed several branches (route by event type with
 * `pipeline.events(name)`, or branch any stream by calling operators on it twice).
 */
export interface Stream<T> {
  /** Keeps the values for which `predicate` is true. */
  filter<S extends T>(predicate: (value: T, position: RecordPosition) => value is S): Stream<S>;
  filter(predicate: (value: T, position: RecordPosition) => boolean): Stream<T>;
  /** Transforms each value (may be async). A thrown error sends the source event to the dead-letter topic. */
  map<U>(fn: (value: T, position: RecordPosition) => U | Promise<U>): Stream<U>;
  /** Transforms each value into zero or more values. */
  flatMap<U>(fn: (value: T, position: RecordPosition) => Iterable<U> | Promise<Iterable<U>>): Stream<U>;
  /** Aggregates values in event-time windows; emits one result per key and window when the window closes. */
  window<A>(options: WindowOptions<T, A>): Stream<WindowResult<A>>;
  /** Writes every value to `sink`; offsets are committed only after the sink flushed. */
  to(sink: Sink<T>): void;
}

/** @internal */
export class StreamNode<T> implements Stream<T>, Node<T> {
  readonly #children: Node<T>[] = [];
  readonly #graph: Graph;

  constructor(graph: Graph) {
    this.#graph = graph;
  }

  async push(value: T, position: RecordPosition): Promise<void> {
    for (const child of this.#children) await child.push(value, position);
  }

  #child<U>(push: (value: T, position: RecordPosition, next: StreamNode<U>) => Promise<void> | void): StreamNode<U> {
    const next = new StreamNode<U>(this.#graph);
    this.#children.push({ push: (value, position) => push(value, position, next) });
    return next;
  }

  filter(predicate: (value: T, position: RecordPosition) => boolean): Stream<T> {
    return this.#child<T>((value, position, next) =>
      predicate(value, position) ? next.push(value, position) : undefined,
    );
  }

  map<U>(fn: (value: T, position: RecordPosition) => U | Promise<U>): Stream<U> {
    return this.#child<U>(async (value, position, next) => next.push(await fn(value, position), position));
  }

  flatMap<U>(fn: (value: T, position: RecordPosition) => Iterable<U> | Promise<Iterable<U>>): Stream<U> {
    return this.#child<U>(async (value, position, next) => {
      for (const out of await fn(value, position)) await next.push(out, position);
    });
  }

  window<A>(options: WindowOptions<T, A>): Stream<WindowResult<A>> {
    const partitioned = this.#graph.partitioned;
    const aggregator = partitioned
      ? new PartitionedWindowAggregator<T, A>(options)
      : new WindowAggregator<T, A>(options);
    if (aggregator instanceof PartitionedWindowAggregator) {
      partitioned?.push(aggregator as unknown as PartitionedWindowAggregator<never, unknown>);
    } else {
      this.#graph.windows.push(aggregator as unknown as WindowAggregator<never, unknown>);
    }
    return this.#child<WindowResult<A>>(async (value, position, next) => {
      for (const result of aggregator.add(value, position)) {
        await next.push(result, { ...position, eventTime: result.start });
      }
    });
  }

  to(sink: Sink<T>): void {
    if (!this.#graph.sinks.includes(sink as unknown as Sink<never>))
      this.#graph.sinks.push(sink as unknown as Sink<never>);
    this.#children.push({ push: (value, position) => sink.write(value, position) });
  }
}
