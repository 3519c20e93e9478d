import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import type { TransportSendError } from '../src/errors.js';
import { createLaneSender } from '../src/transport/lane-sender.js';
import { partitionOfKey } from '../src/transport/partitioning.js';
import type { OutgoingMessage } from '../src/transport/types.js';

interface Sent {
  lane: number;
  topic: string;
  values: string[];
}

/** Lanes that record what they were given, after a delay; `failNext` makes a lane's next send fail. */
function fakeLanes(count: number, delayMs: (lane: number) => number) {
  const sent: Sent[] = [];
  const failNext = new Set<number>();
  const lanes = Array.from({ length: count }, (_, lane) => ({
    async send(topic: string, messages: { value: string }[]) {
      await sleep(delayMs(lane));
      if (failNext.delete(lane)) throw new Error(`lane ${lane} failed`);
      sent.push({ lane, topic, values: messages.map((m) => m.value) });
    },
  }));
  return { lanes, sent, failNext };
}

const message = (key: string, value: string): OutgoingMessage => ({
  key,
  value: Buffer.from(value),
  timestamp: 0,
});

/** A key of each partition 0..partitions-1. */
function keysByPartition(partitions: number): string[] {
  const keys: (string | undefined)[] = Array.from({ length: partitions }, () => undefined);
  let found = 0;
  for (let i = 0; found < partitions; i++) {
    const p = partitionOfKey(`k${i}`, partitions);
    if (keys[p] === undefined) {
      keys[p] = `k${i}`;
      found++;
    }
  }
  return keys as string[];
}

function sender(lanes: ReturnType<typeof fakeLanes>['lanes'], partitions: (topic: string) => number | undefined) {
  return createLaneSender<{ value: string; partition: number | undefined }>({
    lanes,
    fetchPartitions: async (topic) => partitions(topic) ?? 0,
    encode: (_topic, m, partition) => ({ value: m.value.toString(), partition }),
    sizeOf: (m) => m.value.length,
    maxRequestBytes: 1024,
  });
}

describe('the Kafka transports lane sender', () => {
  it('writes overlapping sends to each lane in call order, a partition always on one lane', async () => {
    // Lane 1 is slow: a later batch's parts on lane 0 must not wait for it, and lane 1's must stay in order.
    const { lanes, sent } = fakeLanes(2, (lane) => (lane === 1 ? 5 : 0));
    const [k0, k1, k2] = keysByPartition(3) as [string, string, string];
    const s = sender(lanes, () => 3);
    await Promise.all(
      [1, 2, 3].map((batch) =>
        s.send('t', [message(k0, `a${batch}`), message(k1, `b${batch}`), message(k2, `c${batch}`)]),
      ),
    );
    const onLane = (lane: number) => sent.filter((s) => s.lane === lane).flatMap((s) => s.values);
    // Partitions 0 and 2 are on lane 0, partition 1 on lane 1.
    expect(onLane(0)).toEqual(['a1', 'c1', 'a2', 'c2', 'a3', 'c3']);
    expect(onLane(1)).toEqual(['b1', 'b2', 'b3']);
  });

  it('after a failed part, refuses that lane’s later parts until resume()', async () => {
    const { lanes, sent, failNext } = fakeLanes(2, () => 1);
    const [k0, k1] = keysByPartition(2) as [string, string];
    const s = sender(lanes, () => 2);
    failNext.add(1);
    const results = await Promise.allSettled([
      s.send('t', [message(k0, 'a1'), message(k1, 'b1')]),
      s.send('t', [message(k0, 'a2'), message(k1, 'b2')]),
    ]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect((results[1] as PromiseRejectedResult).reason.message).toMatch(/earlier batch failed/);
    // Lane 0 was healthy; lane 1 sent nothing after its failure.
    expect(sent.flatMap((s) => s.values)).toEqual(['a1', 'a2']);
    await expect(s.send('t', [message(k1, 'b3')])).rejects.toThrow(/earlier batch failed/);
    s.resume();
    await s.send('t', [message(k1, 'b1'), message(k1, 'b2')]);
    expect(sent.filter((x) => x.lane === 1).flatMap((x) => x.values)).toEqual(['b1', 'b2']);
  });

  it('sends a topic it does not know yet after every lane’s earlier parts, and before their later ones', async () => {
    const { lanes, sent } = fakeLanes(3, (lane) => (lane === 2 ? 6 : 1));
    const keys = keysByPartition(3);
    const known = new Set(['old']);
    const s = sender(lanes, (topic) => (known.has(topic) ? 3 : undefined));
    const first = s.send(
      'old',
      keys.map((k) => message(k, `old-${k}`)),
    );
    const unknown = s.send('new', [message(keys[2] as string, 'new-1')]);
    const after = s.send(
      'old',
      keys.map((k) => message(k, `later-${k}`)),
    );
    await Promise.all([first, unknown, after]);
    const order = sent.map((x) => x.values[0]);
    const at = (value: string) => order.indexOf(value);
    // The unknown topic's send (on lane 0, the client's partitioner) comes after all of `first`, before all of `after`.
    for (const k of keys) {
      expect(at('new-1')).toBeGreaterThan(at(`old-${k}`));
      expect(at('new-1')).toBeLessThan(at(`later-${k}`));
    }
    expect(sent.find((x) => x.topic === 'new')?.lane).toBe(0);
  });

  it('after an answer lost to an outage, sends that request again exactly first, and never writes its records twice', async () => {
    // A broker that writes a request, then loses its answer; it de-duplicates a request that repeats
    // the last one it wrote on a connection (what an idempotent producer's sequence numbers give).
    const log: string[] = [];
    const last = new Map<number, string>();
    const loseAnswer = new Set<number>();
    const requests: string[][] = [];
    const lanes = [0, 1].map((lane) => ({
      async send(_topic: string, messages: { value: string }[]) {
        const values = messages.map((m) => m.value);
        requests.push(values);
        const batch = values.join(',');
        if (last.get(lane) !== batch) log.push(...values);
        last.set(lane, batch);
        if (loseAnswer.delete(lane)) throw new Error('request timed out');
      },
    }));
    const [k0, k1] = keysByPartition(2) as [string, string];
    const s = sender(lanes, () => 2);
    const batch = () => [message(k0, 'a1'), message(k1, 'b1'), message(k1, 'b2')];
    loseAnswer.add(1);
    const failed = await s.send('t', batch()).catch((error: unknown) => error);
    // Lane 0's part was acknowledged; lane 1's was written, but the sender cannot know: it names it unsent.
    expect((failed as TransportSendError).unsent.map((m) => m.value.toString())).toEqual(['b1', 'b2']);
    s.resume();
    // The producer sends copies of what was unsent (read back from its spool), with newer events.
    await s.send('t', [message(k1, 'b1'), message(k1, 'b2'), message(k1, 'b3')]);
    expect(log).toEqual(['a1', 'b1', 'b2', 'b3']);
    // The request in doubt went again exactly as it was, before the new one, which left out what it delivered.
    expect(requests.slice(-2)).toEqual([['b1', 'b2'], ['b3']]);
  });

  it('drops a request in doubt when the broker refuses the producer id (it can no longer tell), and sends it again', async () => {
    const requests: string[][] = [];
    const failures: Error[] = [
      new Error('request timed out'),
      Object.assign(new Error('unknown producer id'), { type: 'UNKNOWN_PRODUCER_ID' }),
    ];
    const lanes = [
      {
        async send(_topic: string, messages: { value: string }[]) {
          requests.push(messages.map((m) => m.value));
          const failure = failures.shift();
          if (failure) throw failure;
        },
      },
    ];
    const [k0] = keysByPartition(1) as [string];
    const s = sender(lanes, () => 1);
    await expect(s.send('t', [message(k0, 'a1')])).rejects.toThrow(/timed out/);
    s.resume();
    // Settling the doubt meets a new producer id: the send fails, and the doubt is gone.
    await expect(s.send('t', [message(k0, 'a1')])).rejects.toThrow(/unknown producer id/);
    s.resume();
    await s.send('t', [message(k0, 'a1'), message(k0, 'a2')]);
    expect(requests).toEqual([['a1'], ['a1'], ['a1', 'a2']]);
  });
});
