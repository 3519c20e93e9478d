import { randomUUID } from 'node:crypto';
import { ConfigResourceTypes, Kafka, logLevel } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import { serviceEnv } from '../../../scripts/test-env.js';
import { ensureTopics, playTopicSpec, TopicSetupError } from '../src/kafka/topics.ts';

const { kafkaBrokers } = serviceEnv();
const admin = new Kafka({ brokers: kafkaBrokers, logLevel: logLevel.NOTHING }).admin();
const created: string[] = [];
const freshTopic = () => {
  const topic = `play-fresh-${randomUUID().slice(0, 8)}`;
  created.push(topic);
  return topic;
};

afterAll(async () => {
  await admin.connect();
  await admin.deleteTopics({ topics: created }).catch(() => {});
  await admin.disconnect();
});

describe('the events topic on the real broker', () => {
  it('is created at start with the documented partitions and retention, then left as it is', async () => {
    const topic = freshTopic();
    expect(await ensureTopics(kafkaBrokers, [playTopicSpec(topic)])).toEqual({ created: [topic] });
    await admin.connect();
    const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
    expect(metadata.topics[0]?.partitions).toHaveLength(1);
    expect(metadata.topics[0]?.partitions.every((p) => p.leader >= 0)).toBe(true);
    const configs = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: ['retention.ms'] }],
    });
    expect(configs.resources[0]?.configEntries[0]?.configValue).toBe(String(7 * 24 * 60 * 60 * 1000));
    await admin.disconnect();
    expect(await ensureTopics(kafkaBrokers, [playTopicSpec(topic)])).toEqual({ created: [] });
  });

  it('lets several processes start at once against a fresh broker', async () => {
    const topic = freshTopic();
    const results = await Promise.all([1, 2, 3].map(() => ensureTopics(kafkaBrokers, [playTopicSpec(topic)])));
    expect(results.every((r) => r.created.length <= 1)).toBe(true);
  });

  it('fails with a coded one-line error, within its deadline, when no broker answers', async () => {
    const error = await ensureTopics(['127.0.0.1:1'], [playTopicSpec(freshTopic())], { timeoutMs: 2_000 }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(TopicSetupError);
    expect((error as TopicSetupError).code).toBe('topic_setup_failed');
    expect((error as Error).message).not.toContain('\n');
  });
});
