import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { serviceEnv } from '../../../scripts/test-env.js';
import { createEventProducer, kafkaTransport } from '../src/index.js';
import { byProfile, events } from './fixtures/catalog.js';
import { connectAdmin } from './helpers.js';

// Against the real Kafka broker started by scripts/services.sh.
const { kafkaBrokers } = serviceEnv();
const topic = `backlot-kafkajs-fix-${randomUUID()}`;

afterAll(async () => {
  const admin = await connectAdmin(kafkaBrokers);
  await admin.deleteTopics({ topics: [topic] }).catch(() => {});
  await admin.disconnect();
});

describe('kafkajs request queue fix (tulios/kafkajs#1751)', () => {
  it('leaves idle connections without a 1 ms re-check loop: no negative timeout is ever scheduled', async () => {
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => {
      if (warning.name === 'TimeoutNegativeWarning') warnings.push(warning);
    };
    process.on('warning', onWarning);
    try {
      const transport = kafkaTransport({ brokers: kafkaBrokers });
      const producer = createEventProducer({
        catalog: events,
        source: 'play-api',
        transport,
        topic,
        key: byProfile,
        spool: false,
      });
      for (let seq = 0; seq < 200; seq++) {
        producer.emit('play.started', { profileId: `p${seq % 7}`, titleId: 't', country: 'FR', seq });
      }
      await producer.flush();
      // Idle connections: with kafkajs 2.2.4 as released, each would now re-arm a 1 ms timer forever.
      await sleep(100);
      expect(producer.metrics()).toMatchObject({ sent: 200, dropped: 0 });
      await producer.close();
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings).toEqual([]);
  });
});
