import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { type Admin, Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { serviceEnv } from '../../../scripts/test-env.js';
import {
  createEventProducer,
  createPipeline,
  DEAD_LETTER_HEADERS,
  defineEventCatalog,
  type EventEnvelope,
  kafkaTransport,
} from '../src/index.js';
import { fixKafkajsRequestQueue } from '../src/transport/kafka/request-queue-fix.js';
import { catalogV1, catalogV2, events, ratedV3 } from './fixtures/versioned-catalog.js';
import { collect, removeTempDirs, tempDir, until } from './helpers.js';

// Producers of three eras write v1, v2 and v3 events to one topic of the real broker; today's pipeline reads them.
const { kafkaBrokers } = serviceEnv();
fixKafkajsRequestQueue();
const kafka = new Kafka({ clientId: 'backlot-versions-test', brokers: kafkaBrokers, logLevel: logLevel.NOTHING });
const topic = `backlot-versions-${randomUUID()}`;
const deadLetterTopic = `${topic}.dead-letter`;
const transport = kafkaTransport({ brokers: kafkaBrokers, maxWaitTimeMs: 100 });
let admin: Admin;
const PER_ERA = 200;

/** A producer of the future: v4 of title.rated, which today's catalogue does not know. */
const catalogV4 = defineEventCatalog({
  'title.rated': ratedV3.evolve({
    version: 4,
    payload: z.object({
      profileId: z.string(),
      titleId: z.string(),
      score: z.number(),
      device: z.string(),
      note: z.string(),
    }),
    upcast: (v3) => ({ ...v3, note: '' }),
  }),
});

beforeAll(async () => {
  admin = kafka.admin();
  await admin.connect();
  // The dead-letter topic too: the pipeline's dead-letter writes do not wait for an auto-created topic's leader.
  await admin.createTopics({
    topics: [
      { topic, numPartitions: 2 },
      { topic: deadLetterTopic, numPartitions: 1 },
    ],
    waitForLeaders: true,
  });
});

afterAll(async () => {
  await admin?.deleteTopics({ topics: [topic, deadLetterTopic] }).catch(() => {});
  await admin?.disconnect();
  removeTempDirs();
});

describe('a pipeline over a topic holding v1, v2 and v3 events', () => {
  it('hands its handlers only the latest shape; an unknown version and an invalid old event go to dead letters with their version and rule', async () => {
    const key = (e: { payload: { profileId: string } }) => e.payload.profileId;
    const eras = [
      createEventProducer({
        catalog: catalogV1,
        source: 'ratings-2024',
        transport,
        topic,
        key,
        spool: { dir: tempDir() },
      }),
      createEventProducer({
        catalog: catalogV2,
        source: 'ratings-2025',
        transport,
        topic,
        key,
        spool: { dir: tempDir() },
      }),
      createEventProducer({
        catalog: events,
        source: 'ratings-2026',
        transport,
        topic,
        key,
        spool: { dir: tempDir() },
      }),
    ] as const;
    for (let i = 0; i < PER_ERA; i++) {
      const profileId = `p${i % 7}`;
      const titleId = `t${i}`;
      eras[0].emit('title.rated', { profileId, titleId, stars: (i % 5) + 1 });
      eras[1].emit('title.rated', { profileId, titleId, stars: (i % 5) + 1, device: 'web' });
      eras[2].emit('title.rated', { profileId, titleId, score: i % 101, device: 'tv' });
    }
    for (const producer of eras) await producer.close();
    const future = createEventProducer({
      catalog: catalogV4,
      source: 'ratings-2027',
      transport,
      topic,
      key,
      spool: { dir: tempDir() },
    });
    const fromTheFuture = future.emitEnvelope('title.rated', {
      profileId: 'p1',
      titleId: 'tx',
      score: 1,
      device: 'vr',
      note: 'n',
    });
    await future.close();
    // An old producer that skipped validation: a v1 event with 9 stars.
    const raw = kafka.producer();
    await raw.connect();
    await raw.send({
      topic,
      messages: [
        {
          key: 'p1',
          value: JSON.stringify({
            id: 'bad-v1',
            name: 'title.rated',
            version: 1,
            time: new Date().toISOString(),
            source: 'ratings-2024',
            payload: { profileId: 'p1', titleId: 't9', stars: 9 },
          }),
        },
      ],
    });
    await raw.disconnect();

    const seen = collect<EventEnvelope>();
    const pipeline = createPipeline({
      catalog: events,
      transport,
      groupId: `ratings-${randomUUID()}`,
      topics: [topic],
      commitIntervalMs: 200,
    });
    const scores: number[] = [];
    pipeline
      .events('title.rated')
      .map((event) => {
        // Typed as the latest version: score and device, no stars.
        scores.push(event.payload.score);
        return event as EventEnvelope;
      })
      .to(seen);
    await pipeline.start();
    await until(() => pipeline.metrics().consumed === 3 * PER_ERA + 2, 'every record consumed');
    await pipeline.close();

    expect(pipeline.metrics()).toMatchObject({ processed: 3 * PER_ERA, deadLettered: 2 });
    expect(seen.flushed).toHaveLength(3 * PER_ERA);
    for (const event of seen.flushed) {
      expect(event.version).toBe(3);
      expect(ratedV3.payload.safeParse(event.payload).success).toBe(true);
      expect(event.payload).not.toHaveProperty('stars');
    }
    const bySource = (source: string) => seen.flushed.filter((e) => e.source === source).map((e) => e.payload);
    expect(bySource('ratings-2024')).toHaveLength(PER_ERA);
    expect(bySource('ratings-2024')).toContainEqual({ profileId: 'p0', titleId: 't0', score: 20, device: 'unknown' });
    expect(bySource('ratings-2025')).toContainEqual({ profileId: 'p1', titleId: 't1', score: 40, device: 'web' });
    expect(bySource('ratings-2026')).toContainEqual({ profileId: 'p2', titleId: 't2', score: 2, device: 'tv' });
    expect(scores).toHaveLength(3 * PER_ERA);

    // Counted from outside (kcat): each dead letter names its event, wire version, code and rule.
    const letters = execFileSync(
      'kcat',
      ['-C', '-b', kafkaBrokers[0] as string, '-t', deadLetterTopic, '-o', 'beginning', '-e', '-q', '-f', '%h\t%s\n'],
      { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
    )
      .trim()
      .split('\n')
      .map((line) => {
        const [headers, value] = line.split('\t') as [string, string];
        return { headers, record: JSON.parse(value) as Record<string, unknown> };
      });
    expect(letters).toHaveLength(2);
    const newer = letters.find((l) => l.headers.includes(`${DEAD_LETTER_HEADERS.version}=4`));
    expect(newer?.headers).toContain(`${DEAD_LETTER_HEADERS.code}=BACKLOT_EVENT_VERSION_UNKNOWN`);
    expect(newer?.headers).toContain(`${DEAD_LETTER_HEADERS.rule}=version-unknown`);
    expect(newer?.headers).toContain(`${DEAD_LETTER_HEADERS.event}=title.rated`);
    expect(newer?.record).toMatchObject({
      stage: 'decode',
      code: 'BACKLOT_EVENT_VERSION_UNKNOWN',
      rule: 'version-unknown',
      event: 'title.rated',
      version: 4,
      field: 'version',
    });
    expect(JSON.parse(newer?.record.value as string).id).toBe(fromTheFuture.id);
    const invalid = letters.find((l) => l.headers.includes(`${DEAD_LETTER_HEADERS.version}=1`));
    expect(invalid?.record).toMatchObject({
      stage: 'decode',
      code: 'BACKLOT_EVENT_INVALID',
      rule: 'too_big',
      field: 'payload.stars',
      event: 'title.rated',
      version: 1,
    });
    expect(invalid?.headers).toContain(`${DEAD_LETTER_HEADERS.field}=payload.stars`);
  });
});
