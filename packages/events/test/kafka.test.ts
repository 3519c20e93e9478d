import { randomUUID } from 'node:crypto';
import { type Admin, Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { serviceEnv } from '../../../scripts/test-env.js';
import { defineEventCatalog } from '../src/index.js';
import { fixKafkajsRequestQueue } from '../src/transport/kafka/request-queue-fix.js';

// Integration test against the real Kafka broker started by scripts/services.sh.
const { kafkaBrokers } = serviceEnv();
// Raw kafkajs clients of the test get the fix kafkaTransport applies to its own (no negative-timeout warning).
fixKafkajsRequestQueue();
const kafka = new Kafka({ clientId: 'backlot-events-test', brokers: kafkaBrokers, logLevel: logLevel.NOTHING });
const topic = `backlot-test-${randomUUID()}`;
let admin: Admin;

const events = defineEventCatalog({
  'play.started': { version: 1, payload: z.object({ profileId: z.string(), titleId: z.string() }) },
});

beforeAll(async () => {
  admin = kafka.admin();
  await admin.connect().catch((error: unknown) => {
    throw new Error(`Kafka broker not reachable at ${kafkaBrokers.join(',')}: ${String(error)}`, { cause: error });
  });
  await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
});

afterAll(async () => {
  await admin?.deleteTopics({ topics: [topic] }).catch(() => {});
  await admin?.disconnect();
});

describe('event envelopes through a real Kafka broker', () => {
  it('round-trips typed events, keyed by profile, with an idempotent producer', async () => {
    const sent = ['p1', 'p2', 'p3', 'p1'].map((profileId, i) =>
      events.envelope('play.started', { profileId, titleId: `t${i}` }, { source: 'play-api', traceId: `req-${i}` }),
    );

    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 5 });
    await producer.connect();
    await producer.send({
      topic,
      acks: -1,
      messages: sent.map((event) => ({ key: event.payload.profileId, value: events.encode(event) })),
    });
    await producer.disconnect();

    const consumer = kafka.consumer({ groupId: `backlot-test-${randomUUID()}` });
    const received: ReturnType<typeof events.decode>[] = [];
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const done = new Promise<void>((resolve) => {
      void consumer.run({
        eachMessage: async ({ message }) => {
          if (message.value) received.push(events.decode(message.value));
          if (received.length === sent.length) resolve();
        },
      });
    });
    await done;
    await consumer.disconnect();

    expect(received.map((e) => e.id).sort()).toEqual(sent.map((e) => e.id).sort());
    const byId = new Map(received.map((e) => [e.id, e]));
    for (const event of sent) expect(byId.get(event.id)).toEqual(event);
    // Same key, same partition: one profile's events keep their order.
    const p1 = (list: typeof received) => list.filter((e) => e.payload.profileId === 'p1').map((e) => e.id);
    expect(p1(received)).toEqual(p1(sent));
  });
});
