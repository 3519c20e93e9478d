import { afterAll, describe, expect, it } from 'vitest';
import {
  createPipeline,
  embeddedLogTransport,
  ensureTopics,
  exactlyOnceTopicSink,
  isStateError,
  kafkaCheckpoints,
} from '../src/index.js';
import { events } from './fixtures/catalog.js';
import { removeTempDirs, tempDir } from './helpers.js';

afterAll(removeTempDirs);

describe('checkpoint options and misuse', () => {
  it('refuses an exactly-once sink in a pipeline without checkpoints, saying what to add', async () => {
    const pipeline = createPipeline({
      catalog: events,
      transport: embeddedLogTransport({ dir: tempDir() }),
      groupId: 'eos-without-checkpoints',
    });
    pipeline.events().to(exactlyOnceTopicSink({ topic: 'out' }));
    const error = await pipeline.start().catch((e: unknown) => e);
    expect(isStateError(error, 'BACKLOT_EVENTS_CHECKPOINT')).toBe(true);
    expect(String(error)).toMatch(/needs checkpoints: kafkaCheckpoints\(\{ brokers \}\)/);
    await pipeline.close();
  });

  it('refuses checkpoints on a transport whose offsets are not in the Kafka group', async () => {
    const pipeline = createPipeline({
      catalog: events,
      transport: embeddedLogTransport({ dir: tempDir() }),
      groupId: 'checkpoints-on-embedded-log',
      checkpoints: kafkaCheckpoints({ brokers: ['127.0.0.1:1'] }),
    });
    const error = await pipeline.start().catch((e: unknown) => e);
    expect(isStateError(error, 'BACKLOT_EVENTS_CHECKPOINT')).toBe(true);
    expect(String(error)).toMatch(/needs the pipeline's transport to be kafkaTransport/);
    await pipeline.close();
  });

  it('names the field and the fix of bad options', () => {
    expect(() => kafkaCheckpoints({ brokers: [] })).toThrow(/brokers is required: e.g. \['127.0.0.1:9092'\]/);
    expect(() => kafkaCheckpoints({ brokers: ['b:9092'], changelogTopic: 'has space' })).toThrow(
      /changelogTopic must be/,
    );
    expect(() => kafkaCheckpoints({ brokers: ['b:9092'], restoreTimeoutMs: -1 })).toThrow(
      /restoreTimeoutMs must be a positive number of ms/,
    );
    expect(() => exactlyOnceTopicSink({ topic: '' })).toThrow(/topic must not be empty/);
    expect(() => createPipeline({ catalog: events, groupId: 'g', checkpoints: {} as never })).toThrow(
      /checkpoints must be a CheckpointStore such as kafkaCheckpoints\(\{ brokers \}\)/,
    );
  });

  it('checks every topic spec before touching the broker', async () => {
    // No broker at this address: the bad spec is refused first, without waiting for a connection.
    await expect(ensureTopics({ brokers: ['127.0.0.1:1'], topics: [{ topic: 'ok', partitions: 0 }] })).rejects.toThrow(
      /partitions must be a positive integer/,
    );
    await expect(
      ensureTopics({ brokers: ['127.0.0.1:1'], topics: [{ topic: 'ok', partitions: 1, retentionMs: -5 }] }),
    ).rejects.toThrow(/retentionMs must be a positive number of ms or 'forever'/);
  });

  it('fails within its deadline with a coded error when no broker answers', async () => {
    const error = await ensureTopics({
      brokers: ['127.0.0.1:1'],
      topics: [{ topic: 'unreachable', partitions: 1 }],
      timeoutMs: 1500,
    }).catch((e: unknown) => e);
    expect(isStateError(error, 'BACKLOT_EVENTS_TOPIC_SETUP')).toBe(true);
    expect(error).toMatchObject({ topic: 'unreachable' });
  });
});
