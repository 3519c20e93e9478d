import type { Admin, Kafka } from 'kafkajs';
import { StateError } from '../errors.js';
import type { StateEntry } from '../types.js';

/** @internal what {@link readChangelog} needs. */
export interface ReadChangelogOptions {
  kafka: Kafka;
  admin: Admin;
  topic: string;
  /** A group of its own, deleted afterwards (kafkajs consumers cannot be assigned partitions by hand). */
  groupId: string;
  /** `topic\u0000partition` of the source partitions to read → the marker value their new owner just committed. */
  markers: Map<string, string>;
  timeoutMs: number;
}

/**
 * @internal reads the changelog's committed records (read_committed) from the
 * beginning until, in every wanted partition, the marker its new owner
 * committed after fencing the previous one: everything committed before it
 * is then read, and nothing can be added behind it by the previous owner.
 */
export async function readChangelog(options: ReadChangelogOptions): Promise<StateEntry[]> {
  const { kafka, admin, topic, groupId, markers, timeoutMs } = options;
  const wanted = new Set([...markers.keys()].map((id) => Number(id.slice(id.lastIndexOf('\u0000') + 1))));
  const pending = new Map(markers);
  const records: StateEntry[] = [];
  const consumer = kafka.consumer({
    groupId,
    readUncommitted: false,
    allowAutoTopicCreation: false,
    maxWaitTimeInMs: 200,
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
            if (!wanted.has(batch.partition)) return;
            for (const message of batch.messages) {
              const key = message.key?.toString('utf8');
              if (key === undefined) continue;
              const value = message.value === null ? null : message.value.toString('utf8');
              records.push({ key, value });
              if (value === null) continue;
              for (const [id, marker] of pending) if (marker === value) pending.delete(id);
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
  return records;
}
