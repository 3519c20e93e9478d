import type { Sink, TransactionalSink } from '../sinks/types.js';
import { isStateError, StateError } from '../state/errors.js';
import { type CheckpointStore, partitionId, type SourcePartition, type StateEntry } from '../state/types.js';
import type { EventsLogger } from '../util/logger.js';
import type { PartitionedWindowAggregator, WindowStateChange } from '../window/partitioned-window.js';

/** The state of one source partition owned by this member, as {@link Pipeline.metrics} reports it. */
export interface PartitionStateMetrics {
  /** Source topic. */
  topic: string;
  /** Source partition. */
  partition: number;
  /** Messages waiting in the partition, as last reported by the transport. */
  lag: number | undefined;
  /** Open window slots (key × window) kept for this partition. */
  stateEntries: number;
  /** Bytes of the last checkpointed state entries of this partition (JSON), an estimate of its changelog size. */
  stateBytes: number;
  /** How long reading its state back from the changelog took when it was assigned, in ms. */
  restoreMs: number;
  /** State entries restored when it was assigned. */
  restoredEntries: number;
  /** The last checkpoint's offset (the next offset to consume), if any since it was assigned. */
  checkpointOffset: string | undefined;
  /** When the last checkpoint committed (ms since epoch), if any since it was assigned. */
  lastCheckpointAt: number | undefined;
}

interface Task {
  topic: string;
  partition: number;
  /** Messages before this offset are already in the restored state (and their outputs committed). */
  skipBelow: bigint;
  restoreMs: number;
  restoredEntries: number;
  committed: bigint | undefined;
  lastCheckpointAt: number | undefined;
  stateBytes: Map<string, number>;
}

const isTransactional = (sink: Sink<never>): sink is TransactionalSink<never> =>
  typeof (sink as Partial<TransactionalSink<never>>).transactional === 'object';

/** The changelog key of a window operator's state entry: its index and shape, then the entry's id. */
const entryKey = (index: number, shape: string, change: WindowStateChange): string =>
  JSON.stringify([index, shape, ...change.id]);

/**
 * @internal the pipeline's side of checkpointing: which source partitions this
 * member owns (restored from the changelog before any of their events is
 * processed), and each partition's checkpoint — window-state changes, the
 * records of exactly-once sinks and the offset, committed as one transaction.
 */
export class Checkpointing {
  readonly #store: CheckpointStore;
  readonly #windows: PartitionedWindowAggregator<never, unknown>[];
  readonly #sinks: Sink<never>[];
  readonly #logger: EventsLogger;
  readonly #tasks = new Map<string, Task>();
  #assignment: SourcePartition[] | undefined;
  /** Messages skipped because the restored state already covered them. */
  skipped = 0;
  checkpoints = 0;
  failures = 0;

  constructor(
    store: CheckpointStore,
    windows: PartitionedWindowAggregator<never, unknown>[],
    sinks: Sink<never>[],
    logger: EventsLogger,
  ) {
    this.#store = store;
    this.#windows = windows;
    this.#sinks = sinks;
    this.#logger = logger;
  }

  /** The partitions the consumer group gave this member (applied by {@link sync}). */
  assigned(partitions: SourcePartition[]): void {
    this.#assignment = partitions;
  }

  /** True when an assignment waits for {@link sync}. */
  get pending(): boolean {
    return this.#assignment !== undefined;
  }

  /**
   * Applies the latest assignment, as an eager rebalance does: every owned
   * partition is checkpointed (best effort), then forgotten, and every
   * assigned one taken over and restored from the changelog. Partitions kept
   * across the rebalance are restored too: another member may have owned
   * them in between (this one frozen past its session: a zombie), and after a
   * rebalance the consumer reads from the committed offsets anyway, which the
   * restored state matches. `processed` is the pipeline's next offset per
   * partition (entries of partitions given up are deleted); `flushSinks`
   * makes the sinks durable before a last checkpoint commits offsets past
   * what they hold.
   */
  async sync(processed: Map<string, bigint>, flushSinks: () => Promise<void>): Promise<void> {
    const assignment = this.#assignment;
    if (!assignment) return;
    const released = [...this.#tasks.values()];
    if (released.length > 0) {
      await flushSinks();
      // Best effort: a member that took a partition over fenced this one; it replays from the last checkpoint.
      await Promise.all(
        released.map((task) =>
          this.#checkpoint(task, processed).catch((error: unknown) =>
            this.#logger.info(
              { err: error, topic: task.topic, partition: task.partition },
              'pipeline: final checkpoint before a rebalance failed',
            ),
          ),
        ),
      );
      for (const task of released) this.#forget(task, processed);
      await this.#store.revoke(released);
    }
    if (assignment.length > 0) await this.#restore([...assignment]);
    if (this.#assignment === assignment) this.#assignment = undefined;
  }

  async #restore(partitions: SourcePartition[]): Promise<void> {
    const started = performance.now();
    const restored = await this.#store.assign(partitions);
    const restoreMs = Math.round(performance.now() - started);
    for (const p of partitions) {
      const id = partitionId(p);
      const state = restored.get(id);
      const byWindow = this.#windows.map(() => [] as WindowStateChange[]);
      const stateBytes = new Map<string, number>();
      for (const [key, value] of state?.entries ?? []) {
        const parsed = parseEntry(key, value);
        const window = parsed && this.#windows[parsed.index];
        if (!parsed || !window || window.shape !== parsed.shape) continue; // another graph's state: ignored
        byWindow[parsed.index]?.push(parsed.change);
        stateBytes.set(key, key.length + value.length);
      }
      for (const [i, window] of this.#windows.entries()) {
        window.restore(id, byWindow[i] ?? [], (entry) =>
          this.#logger.warn(
            { topic: p.topic, partition: p.partition, entry },
            'pipeline: unreadable state entry ignored',
          ),
        );
      }
      this.#tasks.set(id, {
        topic: p.topic,
        partition: p.partition,
        skipBelow: state?.offset === undefined ? -1n : BigInt(state.offset),
        restoreMs,
        restoredEntries: stateBytes.size,
        committed: state?.offset === undefined ? undefined : BigInt(state.offset),
        lastCheckpointAt: undefined,
        stateBytes,
      });
      this.#logger.info(
        { topic: p.topic, partition: p.partition, entries: stateBytes.size, offset: state?.offset, restoreMs },
        'pipeline: partition state restored',
      );
    }
  }

  #forget(task: Task, processed: Map<string, bigint>): void {
    const id = partitionId(task);
    this.#tasks.delete(id);
    processed.delete(id);
    for (const window of this.#windows) window.drop(id);
    for (const sink of this.#sinks) if (isTransactional(sink)) sink.transactional.drop(task.topic, task.partition);
  }

  /**
   * True when a message of `topic`/`partition` at `offset` is to be processed:
   * the partition is owned, and the offset is neither in its restored state nor
   * before `next`, the next offset this member has processed.
   */
  accepts(topic: string, partition: number, offset: string, next: bigint | undefined): boolean {
    const task = this.#tasks.get(`${topic}\u0000${partition}`);
    if (!task) return false;
    const at = BigInt(offset);
    if (at < task.skipBelow || (next !== undefined && at < next)) {
      this.skipped++;
      return false;
    }
    return true;
  }

  /** True when some owned partition has progress or state not checkpointed yet. */
  dirty(processed: Map<string, bigint>): boolean {
    for (const [id, task] of this.#tasks) {
      if (processed.has(id) && processed.get(id) !== task.committed) return true;
      if (this.#windows.some((window) => window.dirty(id))) return true;
    }
    return false;
  }

  /** Checkpoints every owned partition with progress; rejects with the first failure after trying them all. */
  async commit(processed: Map<string, bigint>): Promise<void> {
    const results = await Promise.allSettled(
      [...this.#tasks.values()].map((task) => this.#checkpoint(task, processed)),
    );
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  async #checkpoint(task: Task, processed: Map<string, bigint>): Promise<void> {
    const id = partitionId(task);
    const offset = processed.get(id);
    if (offset === undefined) return;
    const dirtyWindows = this.#windows.some((window) => window.dirty(id));
    if (offset === task.committed && !dirtyWindows) return;
    const changes: StateEntry[] = [];
    for (const [i, window] of this.#windows.entries()) {
      for (const change of window.changes(id)) {
        const key = entryKey(i, window.shape, change);
        const value = change.value === null ? null : JSON.stringify(change.value);
        changes.push({ key, value });
      }
    }
    const outputs = this.#sinks
      .filter(isTransactional)
      .map((sink) => ({
        sink,
        topic: sink.transactional.topic,
        messages: sink.transactional.take(task.topic, task.partition),
      }))
      .filter((output) => output.messages.length > 0);
    try {
      await this.#store.commit({
        topic: task.topic,
        partition: task.partition,
        offset: offset.toString(),
        changes,
        outputs,
      });
    } catch (error) {
      this.failures++;
      if (isStateError(error, 'BACKLOT_EVENTS_PARTITION_LOST')) {
        // Another member owns it now and replays it from its last checkpoint.
        this.#forget(task, processed);
      } else {
        for (const output of outputs) output.sink.transactional.putBack(task.topic, task.partition, output.messages);
      }
      throw error;
    }
    for (const window of this.#windows) window.checkpointed(id);
    for (const { key, value } of changes) {
      if (value === null) task.stateBytes.delete(key);
      else task.stateBytes.set(key, key.length + value.length);
    }
    task.committed = offset;
    task.lastCheckpointAt = Date.now();
    this.checkpoints++;
  }

  /** Per owned partition: lag, state size, restore time, last checkpoint. */
  metrics(lag: Map<string, number>): PartitionStateMetrics[] {
    return [...this.#tasks.entries()].map(([id, task]) => {
      let stateBytes = 0;
      for (const bytes of task.stateBytes.values()) stateBytes += bytes;
      return {
        topic: task.topic,
        partition: task.partition,
        lag: lag.get(id),
        stateEntries: this.#windows.reduce((sum, window) => sum + window.size(id), 0),
        stateBytes,
        restoreMs: task.restoreMs,
        restoredEntries: task.restoredEntries,
        checkpointOffset: task.committed?.toString(),
        lastCheckpointAt: task.lastCheckpointAt,
      };
    });
  }

  async close(): Promise<void> {
    await this.#store.close();
  }
}

/** Reads a changelog entry back; `undefined` when it is not one of ours. */
function parseEntry(
  key: string,
  value: string,
): { index: number; shape: string; change: WindowStateChange } | undefined {
  try {
    const parsedKey = JSON.parse(key) as unknown;
    if (!Array.isArray(parsedKey)) return undefined;
    const [index, shape, kind, windowKey] = parsedKey as unknown[];
    if (typeof index !== 'number' || typeof shape !== 'string') return undefined;
    const parsedValue = JSON.parse(value) as unknown;
    if (kind === 'time' && parsedKey.length === 3)
      return { index, shape, change: { id: ['time'], value: parsedValue } };
    if (kind === 'key' && typeof windowKey === 'string') {
      return { index, shape, change: { id: ['key', windowKey], value: parsedValue } };
    }
    return undefined;
  } catch {
    return undefined;
  }
}

/** @internal thrown when a pipeline has exactly-once sinks but no checkpoint store. */
export function exactlyOnceWithoutCheckpoints(sink: string): StateError {
  return new StateError(
    'BACKLOT_EVENTS_CHECKPOINT',
    `sink '${sink}' is exactly-once: its records are written by checkpoint transactions, so createPipeline needs checkpoints: kafkaCheckpoints({ brokers })`,
  );
}

export { isTransactional };
