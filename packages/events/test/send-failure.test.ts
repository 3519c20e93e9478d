import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isTransportSendError } from '../src/index.js';
import { createLaneSender, UNKNOWN_TOPIC_ATTEMPTS, UNKNOWN_TOPIC_MIN_MS } from '../src/transport/lane-sender.js';
import { partitionOfKey } from '../src/transport/partitioning.js';
import { failureKind, isUnknownTopic } from '../src/transport/send-failure.js';
import type { OutgoingMessage } from '../src/transport/types.js';

/** An error shaped as kafkajs reports a broker's protocol error (wrapped, as its retrier does). */
const kafkajsError = (type: string) =>
  Object.assign(new Error('retries exhausted'), {
    name: 'KafkaJSNonRetriableError',
    cause: Object.assign(new Error(type), { name: 'KafkaJSProtocolError', type, retriable: false }),
  });

describe('send failures are classified in one place', () => {
  it.each([
    ['MESSAGE_TOO_LARGE', 'record'],
    ['INVALID_RECORD', 'record'],
    ['CORRUPT_MESSAGE', 'record'],
    ['RECORD_LIST_TOO_LARGE', 'record'],
    ['TOPIC_AUTHORIZATION_FAILED', 'topic'],
    ['INVALID_TOPIC_EXCEPTION', 'topic'],
    ['NOT_LEADER_OR_FOLLOWER', 'outage'],
    ['REQUEST_TIMED_OUT', 'outage'],
    ['OUT_OF_ORDER_SEQUENCE_NUMBER', 'producer'],
    ['UNKNOWN_PRODUCER_ID', 'producer'],
    ['INVALID_PRODUCER_EPOCH', 'producer'],
  ])('kafkajs %s is %s', (type, kind) => {
    expect(failureKind(kafkajsError(type))).toBe(kind);
  });

  it('reads @platformatic/kafka errors (apiId, nested in errors[]) and treats the unknown as an outage', () => {
    const platformatic = Object.assign(new Error('response'), {
      errors: [Object.assign(new Error('too large'), { apiId: 'MESSAGE_TOO_LARGE' })],
    });
    expect(failureKind(platformatic)).toBe('record');
    expect(failureKind(new Error('ECONNREFUSED'))).toBe('outage');
    expect(failureKind(undefined)).toBe('outage');
  });
});

interface Sent {
  lane: number;
  values: string[];
}

/** Lanes of a broker that refuses a whole request when any record in it is poison (or its topic is forbidden). */
function strictLanes(count: number) {
  const accepted: Sent[] = [];
  let requests = 0;
  const lanes = Array.from({ length: count }, (_, lane) => ({
    async send(topic: string, messages: { value: string }[]) {
      requests++;
      if (topic === 'forbidden') throw kafkajsError('TOPIC_AUTHORIZATION_FAILED');
      if (messages.some((m) => m.value.startsWith('poison'))) throw kafkajsError('MESSAGE_TOO_LARGE');
      accepted.push({ lane, values: messages.map((m) => m.value) });
    },
  }));
  return { lanes, accepted, requests: () => requests };
}

const message = (key: string, value: string): OutgoingMessage => ({ key, value: Buffer.from(value), timestamp: 0 });

function sender(lanes: ReturnType<typeof strictLanes>['lanes']) {
  return createLaneSender<{ value: string; partition: number | undefined }>({
    lanes,
    fetchPartitions: async () => 6,
    encode: (_topic, m, partition) => ({ value: m.value.toString(), partition }),
    sizeOf: (m) => m.value.length,
    maxRequestBytes: 1 << 20,
  });
}

describe('the lane sender isolates poison records', () => {
  it('property: every good record is acknowledged exactly once, every poison one is reported once, in one send', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 30 }), fc.boolean()), { minLength: 1, maxLength: 120 }),
        fc.integer({ min: 1, max: 4 }),
        async (records, connections) => {
          const { lanes, accepted } = strictLanes(connections);
          const messages = records.map(([key, poison], i) => message(`k${key}`, `${poison ? 'poison' : 'good'}-${i}`));
          const report = await sender(lanes).send('events', messages);
          const good = messages.map((m) => m.value.toString()).filter((v) => v.startsWith('good'));
          const poison = messages.map((m) => m.value.toString()).filter((v) => v.startsWith('poison'));
          const delivered = accepted.flatMap((s) => s.values);
          expect([...delivered].sort()).toEqual([...good].sort());
          expect((report?.rejected ?? []).map((r) => r.message.value.toString()).sort()).toEqual([...poison].sort());
          for (const rejected of report?.rejected ?? []) expect(rejected.code).toBe('MESSAGE_TOO_LARGE');
          // Per key, the good records keep their order.
          for (const key of new Set(messages.map((m) => m.key))) {
            const order = good.filter((v) => messages.find((m) => m.value.toString() === v)?.key === key);
            expect(delivered.filter((v) => order.includes(v))).toEqual(order);
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('reports every record of a topic the client may not write to as refused, instead of retrying forever', async () => {
    const { lanes, accepted } = strictLanes(2);
    const messages = Array.from({ length: 10 }, (_, i) => message(`k${i}`, `good-${i}`));
    const report = await sender(lanes).send('forbidden', messages);
    expect(accepted).toEqual([]);
    expect(report?.rejected).toHaveLength(10);
    expect(new Set(report?.rejected.map((r) => r.code))).toEqual(new Set(['TOPIC_AUTHORIZATION_FAILED']));
  });

  it('after an outage, names exactly the records not acknowledged (the acknowledged lanes are not sent again)', async () => {
    let down = 1;
    const accepted: string[] = [];
    const lanes = [0, 1].map((lane) => ({
      async send(_topic: string, messages: { value: string }[]) {
        if (lane === down) throw new Error('ECONNREFUSED');
        accepted.push(...messages.map((m) => m.value));
      },
    }));
    const lanesSender = createLaneSender<{ value: string; partition: number | undefined }>({
      lanes,
      fetchPartitions: async () => 2,
      encode: (_topic, m, partition) => ({ value: m.value.toString(), partition }),
      sizeOf: (m) => m.value.length,
      maxRequestBytes: 1 << 20,
    });
    const messages = Array.from({ length: 40 }, (_, i) => message(`k${i}`, `m-${i}`));
    let thrown: unknown;
    try {
      await lanesSender.send('events', messages);
    } catch (error) {
      thrown = error;
    }
    expect(isTransportSendError(thrown)).toBe(true);
    const unsent = (thrown as { unsent: OutgoingMessage[] }).unsent;
    expect(unsent.length).toBeGreaterThan(0);
    expect(unsent.length + accepted.length).toBe(40);
    expect(unsent.filter((m) => accepted.includes(m.value.toString()))).toEqual([]);
    // Sending the unsent ones again completes the batch with no duplicate.
    down = -1;
    lanesSender.resume();
    await lanesSender.send('events', unsent);
    expect([...accepted].sort()).toEqual(messages.map((m) => m.value.toString()).sort());
  });

  it('does not send again the partitions a failed request delivered and counted (acknowledgedPartitions), only the rest', async () => {
    // One request carries every partition; the client reports partitions 0..2 delivered (another leader), 3..5 refused.
    const requests: string[][] = [];
    const refusal = Object.assign(kafkajsError('MESSAGE_TOO_LARGE'), { delivered: new Set([0, 1, 2]) });
    let first = true;
    const lanesSender = createLaneSender<{ value: string; partition: number | undefined }>({
      lanes: [
        {
          async send(_topic: string, messages: { value: string }[]) {
            requests.push(messages.map((m) => m.value));
            if (first) {
              first = false;
              throw refusal;
            }
            if (messages.some((m) => m.value.startsWith('poison'))) throw kafkajsError('MESSAGE_TOO_LARGE');
          },
        },
      ],
      fetchPartitions: async () => 6,
      encode: (_topic, m, partition) => ({ value: m.value.toString(), partition }),
      sizeOf: (m) => m.value.length,
      maxRequestBytes: 1 << 20,
      acknowledgedPartitions: (error) => (error === refusal ? refusal.delivered : undefined),
    });
    // The poison record is on a refused partition (3..5).
    const poisonAt = Array.from({ length: 60 }, (_, i) => i).find((i) => partitionOfKey(`k${i}`, 6) >= 3) as number;
    const messages = Array.from({ length: 60 }, (_, i) =>
      message(`k${i}`, i === poisonAt ? `poison-${i}` : `good-${i}`),
    );
    const report = await lanesSender.send('events', messages);
    expect(report?.rejected.map((r) => r.message.value.toString())).toEqual([`poison-${poisonAt}`]);
    const partitionOf = new Map(messages.map((m) => [m.value.toString(), partitionOfKey(m.key as string, 6)]));
    const resent = requests.slice(1).flat();
    // Nothing of partitions 0..2 went out twice; partitions 3..5 were sent again (the broker de-duplicates those).
    expect(resent.filter((v) => (partitionOf.get(v) as number) < 3)).toEqual([]);
    expect(new Set(resent.map((v) => partitionOf.get(v)))).toEqual(new Set([3, 4, 5]));
  });
});

describe('a topic that stays unknown', () => {
  const unknownTopic = () =>
    Object.assign(new Error('retries exhausted'), {
      cause: Object.assign(new Error('This server does not host this topic-partition'), {
        type: 'UNKNOWN_TOPIC_OR_PARTITION',
      }),
    });

  it('is an outage for the first attempts, then its messages are refused for good without being sent', async () => {
    let sends = 0;
    let now = 0;
    const realNow = Date.now;
    Date.now = () => now;
    try {
      const lanesSender = createLaneSender<{ value: string; partition: number | undefined }>({
        lanes: [
          {
            async send() {
              sends++;
              throw unknownTopic();
            },
          },
        ],
        fetchPartitions: async () => {
          throw unknownTopic();
        },
        encode: (_topic, m, partition) => ({ value: m.value.toString(), partition }),
        sizeOf: (m) => m.value.length,
        maxRequestBytes: 1 << 20,
      });
      const messages = [message('k', 'a'), message('k', 'b')];
      for (let attempt = 1; attempt <= UNKNOWN_TOPIC_ATTEMPTS; attempt++) {
        await expect(lanesSender.send('missing', messages)).rejects.toSatisfy(isTransportSendError);
        lanesSender.resume();
      }
      // Enough attempts, but not for long enough yet (auto-creation may still be under way): still an outage.
      await expect(lanesSender.send('missing', messages)).rejects.toSatisfy(isTransportSendError);
      lanesSender.resume();
      now += UNKNOWN_TOPIC_MIN_MS;
      const before = sends;
      const report = await lanesSender.send('missing', messages);
      expect(sends).toBe(before);
      expect(report?.rejected.map((r) => [r.message.value.toString(), r.code])).toEqual([
        ['a', 'UNKNOWN_TOPIC_OR_PARTITION'],
        ['b', 'UNKNOWN_TOPIC_OR_PARTITION'],
      ]);
      expect(report?.rejected[0]?.reason).toMatch(/does not exist.*create it first/);
    } finally {
      Date.now = realNow;
    }
  });

  it('other failures of an unknown topic stay outages (a broker away is not a missing topic)', async () => {
    const lanesSender = createLaneSender<{ value: string; partition: number | undefined }>({
      lanes: [
        {
          async send() {
            throw new Error('ECONNREFUSED');
          },
        },
      ],
      fetchPartitions: async () => 0,
      encode: (_topic, m, partition) => ({ value: m.value.toString(), partition }),
      sizeOf: (m) => m.value.length,
      maxRequestBytes: 1 << 20,
    });
    for (let attempt = 0; attempt < UNKNOWN_TOPIC_ATTEMPTS + 2; attempt++) {
      await expect(lanesSender.send('t', [message('k', 'a')])).rejects.toSatisfy(isTransportSendError);
      lanesSender.resume();
    }
    expect(isUnknownTopic(new Error('ECONNREFUSED'))).toBe(false);
  });
});
