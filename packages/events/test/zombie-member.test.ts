import { randomUUID } from 'node:crypto';
import type { Admin } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serviceEnv } from '../../../scripts/test-env.js';
import { type CheckpointStore, ensureTopics, isStateError, kafkaCheckpoints, type StateError } from '../src/index.js';
import { connectAdmin, readCommittedValues } from './helpers.js';

// A zombie member on the real broker started by scripts/services.sh: a member that lost its
// partition (another member took its transactional id over after a rebalance or restart) but
// still believes it owns it, and tries to checkpoint. Counted from outside with kcat.
const { kafkaBrokers } = serviceEnv();
const run = randomUUID().slice(0, 8);
const source = `zombie-src-${run}`;
const output = `zombie-out-${run}`;
const groupId = `zombie-${run}`;
const topics = [source, output, `${groupId}-state-changelog`];
const stores: CheckpointStore[] = [];
let admin: Admin;

beforeAll(async () => {
  admin = await connectAdmin(kafkaBrokers);
  await ensureTopics({
    brokers: kafkaBrokers,
    topics: [
      { topic: source, partitions: 2 },
      { topic: output, partitions: 1 },
    ],
  });
});

afterAll(async () => {
  await Promise.all(stores.map((store) => store.close().catch(() => {})));
  await admin.deleteTopics({ topics }).catch(() => {});
  await admin.disconnect();
});

/** A member's checkpoint store, prepared as `pipeline.start()` prepares it. */
async function member(): Promise<CheckpointStore> {
  const store = kafkaCheckpoints({ brokers: kafkaBrokers });
  stores.push(store);
  await store.prepare({ groupId, topics: [source], transport: 'kafka' });
  return store;
}

const result = (value: string) => ({ key: 'k', value: Buffer.from(value), timestamp: Date.now() });

/** The output topic's values as a read_committed client that is not ours (kcat) reads them. */
const readCommitted = (): string[] => readCommittedValues(kafkaBrokers, output);

/** The group's committed offset of the source partition 0. */
async function committedOffset(): Promise<string | undefined> {
  const [fetched] = await admin.fetchOffsets({ groupId, topics: [source] });
  return fetched?.partitions.find((p) => p.partition === 0)?.offset;
}

/** The broker's answer somewhere in the error's cause chain (kafkajs nests it). */
function brokerAnswer(error: unknown): string | undefined {
  for (let e: unknown = error; e; e = (e as { cause?: unknown }).cause) {
    const type = (e as { type?: unknown }).type;
    if (typeof type === 'string') return type;
  }
  return undefined;
}

describe('a fenced (zombie) member', () => {
  it('cannot commit output, state or offsets once another member took its partition over; it gets a typed error', async () => {
    const p0 = { topic: source, partition: 0 };
    const zombie = await member();
    expect((await zombie.assign([p0])).get(`${source}\u00000`)?.offset).toBeUndefined();
    await zombie.commit({
      ...p0,
      offset: '10',
      changes: [{ key: 'window-a', value: '"zombie-before"' }],
      outputs: [{ topic: output, messages: [result('first, by the owner')] }],
    });

    // A rebalance (or a restart) gives partition 0 to another member: its take-over fences the first.
    const successor = await member();
    const restored = (await successor.assign([p0])).get(`${source}\u00000`);
    expect(restored?.offset).toBe('10');
    expect(restored?.entries.get('window-a')).toBe('"zombie-before"');

    // The first member, unaware (a long GC pause, a partitioned network), checkpoints what it processed since.
    const attempt = zombie.commit({
      ...p0,
      offset: '20',
      changes: [{ key: 'window-a', value: '"zombie-after"' }],
      outputs: [{ topic: output, messages: [result('second, by the zombie')] }],
    });
    const error = (await attempt.then(
      () => undefined,
      (e: unknown) => e,
    )) as StateError | undefined;
    expect(error, 'the zombie’s checkpoint was refused').toBeDefined();
    expect(isStateError(error, 'BACKLOT_EVENTS_PARTITION_LOST')).toBe(true);
    expect(error?.topic).toBe(source);
    expect(error?.message).toContain('taken over by another member (fenced)');
    // The broker said why: the zombie's producer epoch is older than the successor's.
    expect(['INVALID_PRODUCER_EPOCH', 'PRODUCER_FENCED']).toContain(brokerAnswer(error?.cause));
    // It no longer owns the partition: a further attempt is refused at once, without the broker.
    await expect(zombie.commit({ ...p0, offset: '30', changes: [], outputs: [] })).rejects.toMatchObject({
      code: 'BACKLOT_EVENTS_PARTITION_LOST',
    });

    // Nothing of the zombie's is visible: its offset, its output and its state changes were aborted.
    // (The group applies a transaction's offsets once its commit marker is written: polled.)
    await expect.poll(committedOffset).toBe('10');
    expect(readCommitted()).toEqual(['first, by the owner']);

    // The successor goes on from the checkpoint: its output once, its offset committed.
    await successor.commit({
      ...p0,
      offset: '20',
      changes: [{ key: 'window-a', value: '"successor"' }],
      outputs: [{ topic: output, messages: [result('second, by the successor')] }],
    });
    await expect.poll(committedOffset).toBe('20');
    expect(readCommitted()).toEqual(['first, by the owner', 'second, by the successor']);
    // A third member restores the successor's state, never the zombie's.
    const third = await member();
    expect((await third.assign([p0])).get(`${source}\u00000`)?.entries.get('window-a')).toBe('"successor"');
  }, 120_000);

  it('keeps its other partitions: only the one taken over is refused', async () => {
    const p0 = { topic: source, partition: 0 };
    const p1 = { topic: source, partition: 1 };
    const first = await member();
    await first.assign([p0, p1]);
    const second = await member();
    await second.assign([p0]);
    await expect(first.commit({ ...p0, offset: '40', changes: [], outputs: [] })).rejects.toMatchObject({
      code: 'BACKLOT_EVENTS_PARTITION_LOST',
    });
    await first.commit({ ...p1, offset: '5', changes: [], outputs: [] });
    await expect
      .poll(async () => {
        const [fetched] = await admin.fetchOffsets({ groupId, topics: [source] });
        return fetched?.partitions.find((p) => p.partition === 1)?.offset;
      })
      .toBe('5');
  }, 120_000);
});
