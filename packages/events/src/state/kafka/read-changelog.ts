import { type Admin, AssignerProtocol, type Kafka, type PartitionAssigner } from 'kafkajs';
import { StateError } from '../errors.js';
import type { StateEntry } from '../types.js';

/** @internal what {@link readChangelog} needs. */
export interface ReadChangelogOptions {
  kafka: Kafka;
  admin: Admin;
  topic: string;
  /** A group of its own, deleted afterwards (kafkajs consumers cannot be assigned partitions by hand). */
  groupId: string;
  /**
   * `topic\u0000partition` of the source partitions to read → the marker their new owner just
   * committed (its value, and its offset in the changelog partition, as the broker acknowledged it).
   */
  markers: Map<string, { value: string; offset: number }>;
  timeoutMs: number;
}

/** @internal what {@link readChangelog} read. */
export interface ChangelogRead {
  /** The state records of the wanted partitions, in offset order per partition, up to each one's marker. */
  records: StateEntry[];
  /** Every record the consumer was handed, whatever its partition (what the restore cost in records). */
  fetched: number;
  /** Per changelog partition read: its end offset, just past the last take-over marker written there. */
  endOffsets: Map<number, number>;
}

/** A partition of the changelog (`topic\u0000partition` → its number). */
const partitionOf = (id: string): number => Number(id.slice(id.lastIndexOf('\u0000') + 1));

/**
 * An assigner that gives the group's (only) member exactly `partitions` of `topic`: the
 * consumer fetches nothing of the partitions this restore does not need.
 */
const onlyPartitions =
  (topic: string, partitions: readonly number[]): PartitionAssigner =>
  () => ({
    name: 'BacklotRestoreAssigner',
    version: 0,
    async assign({ members }) {
      // A restore group has one member; were there more, the first takes the partitions.
      return members.map(({ memberId }, index) => ({
        memberId,
        memberAssignment: AssignerProtocol.MemberAssignment.encode({
          version: 0,
          assignment: index === 0 ? { [topic]: [...partitions] } : {},
          userData: Buffer.alloc(0),
        }),
      }));
    },
    protocol({ topics }) {
      return {
        name: 'BacklotRestoreAssigner',
        metadata: AssignerProtocol.MemberMetadata.encode({ version: 0, topics, userData: Buffer.alloc(0) }),
      };
    },
  });

/**
 * @internal reads the changelog's committed records (read_committed) of the wanted
 * partitions only, from the beginning until, in each, the marker its new owner committed
 * after fencing the previous one: everything committed before it is then read, and nothing
 * can be added behind it by the previous owner. A partition's end offset is known before the
 * read starts (just past the markers' offsets, which the broker acknowledged): a partition
 * whose read passes it without a marker fails at once (never waits for the timeout).
 */
export async function readChangelog(options: ReadChangelogOptions): Promise<ChangelogRead> {
  const { kafka, admin, topic, groupId, markers, timeoutMs } = options;
  /** Changelog partition → the markers still to be read there (source partitions of several topics share one). */
  const pending = new Map<number, Set<string>>();
  const endOffsets = new Map<number, number>();
  for (const [id, marker] of markers) {
    const partition = partitionOf(id);
    pending.set(partition, (pending.get(partition) ?? new Set()).add(marker.value));
    endOffsets.set(partition, Math.max(endOffsets.get(partition) ?? 0, marker.offset + 1));
  }
  const wanted = [...pending.keys()].sort((a, b) => a - b);
  const records: StateEntry[] = [];
  let fetched = 0;
  if (wanted.length === 0) return { records, fetched, endOffsets };
  const consumer = kafka.consumer({
    groupId,
    readUncommitted: false,
    allowAutoTopicCreation: false,
    maxWaitTimeInMs: 200,
    partitionAssigners: [onlyPartitions(topic, wanted)],
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new StateError(
              'BACKLOT_EVENTS_STATE_RESTORE',
              `restoring window state from '${topic}' took more than ${timeoutMs} ms (raise restoreTimeoutMs, or check the broker)`,
              { topic },
            ),
          ),
        timeoutMs,
      );
      consumer.on(consumer.events.CRASH, ({ payload }) => {
        if (!payload.restart) reject(payload.error);
      });
      consumer
        .run({
          autoCommit: false,
          eachBatch: async ({ batch }) => {
            fetched += batch.messages.length;
            const left = pending.get(batch.partition);
            if (left === undefined) return; // not wanted, or read to its markers already
            const end = endOffsets.get(batch.partition) ?? Number.POSITIVE_INFINITY;
            for (const message of batch.messages) {
              if (Number(message.offset) >= end) {
                reject(
                  new StateError(
                    'BACKLOT_EVENTS_STATE_RESTORE',
                    `restoring window state from '${topic}' partition ${batch.partition}: read past its end offset ${end} without its take-over marker (was the changelog written by another pipeline, or recreated?)`,
                    { topic },
                  ),
                );
                return;
              }
              const key = message.key?.toString('utf8');
              if (key === undefined) continue;
              const value = message.value === null ? null : message.value.toString('utf8');
              records.push({ key, value });
              if (value !== null && left.delete(value) && left.size === 0) {
                pending.delete(batch.partition);
                break;
              }
            }
            if (pending.size === 0) resolve();
          },
        })
        .catch(reject);
    });
  } finally {
    clearTimeout(timer);
    await consumer.disconnect().catch(() => {});
    await admin.deleteGroups([groupId]).catch(() => {});
  }
  return { records, fetched, endOffsets };
}
