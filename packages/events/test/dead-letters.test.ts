import { afterAll, describe, expect, it } from 'vitest';
import { type DeadLetter, readDeadLetters, TransportSendError } from '../src/index.js';
import { DeadLetters } from '../src/producer/dead-letters.js';
import { DeadLetterFile } from '../src/spool/dead-letter.js';
import type { OutgoingMessage, SendReport, TopicSettings, TransportProducer } from '../src/transport/types.js';
import { silentLogger } from '../src/util/logger.js';
import { removeTempDirs, tempDir } from './helpers.js';

// Unit tests of the dead-letter route with fake topic producers; the real-broker ones are in poison.test.ts.
afterAll(() => removeTempDirs());

const spec: TopicSettings = { topic: 'events.dead-letter', partitions: 1, retentionMs: 1000, maxMessageBytes: 1 << 20 };
const refused = (i: number) => ({
  record: { topic: 'events', key: `k${i}`, value: Buffer.from(`{"id":"e${i}"}`), timestamp: i },
  code: 'MESSAGE_TOO_LARGE',
  reason: 'too large',
});

/** A dead-letter topic producer whose `send` does what `behave` says, recording what it got. */
function fakeTopic(behave: (messages: readonly OutgoingMessage[]) => Promise<SendReport | undefined>) {
  const sent: OutgoingMessage[][] = [];
  const ensured: TopicSettings[] = [];
  const producer: TransportProducer = {
    async connect() {},
    async send(_topic, messages) {
      sent.push([...messages]);
      return behave(messages);
    },
    async ensureTopic(topicSpec) {
      ensured.push(topicSpec);
    },
    async close() {},
  };
  return { producer, sent, ensured };
}

const logger = silentLogger;

describe('dead-letter route', () => {
  it('writes refused events to the topic with headers saying why, creating it first, and counts them', async () => {
    const topic = fakeTopic(async () => undefined);
    const handed: DeadLetter[] = [];
    const letters = new DeadLetters({
      topic: { spec, producer: topic.producer },
      onDeadLetter: (l) => handed.push(...l),
      logger,
    });
    letters.route([refused(1), refused(2)]);
    await letters.idle();
    expect(topic.ensured).toEqual([spec]);
    expect(topic.sent[0]?.map((m) => m.headers)).toEqual([
      expect.objectContaining({
        'backlot-dead-letter-code': 'MESSAGE_TOO_LARGE',
        'backlot-dead-letter-topic': 'events',
      }),
      expect.objectContaining({ 'backlot-dead-letter-reason': 'too large' }),
    ]);
    expect(letters.counts).toEqual({ deadLettered: 2, deadLetterPublished: 2 });
    expect(handed.map((l) => l.key)).toEqual(['k1', 'k2']);
    expect(letters.takeUnclaimed()).toEqual([]);
  });

  it('falls back to the dead-letter file when the topic stays unreachable (a few attempts), and when it refuses them too', async () => {
    const dir = tempDir();
    const down = fakeTopic(async (messages) => {
      throw new TransportSendError('broker away', messages, []);
    });
    const letters = new DeadLetters({
      topic: { spec, producer: down.producer },
      file: new DeadLetterFile(dir),
      logger,
    });
    letters.route([refused(1)]);
    await letters.idle();
    expect(down.sent).toHaveLength(3);
    const tooLarge = fakeTopic(async (messages) => ({
      rejected: messages.map((message) => ({ message, code: 'MESSAGE_TOO_LARGE', reason: 'still too large' })),
    }));
    const again = new DeadLetters({
      topic: { spec, producer: tooLarge.producer },
      file: new DeadLetterFile(dir),
      logger,
    });
    again.route([refused(2)]);
    await again.idle();
    expect(tooLarge.sent).toHaveLength(1);
    expect(readDeadLetters(dir).map((l) => [l.key, l.code])).toEqual([
      ['k1', 'MESSAGE_TOO_LARGE'],
      ['k2', 'MESSAGE_TOO_LARGE'],
    ]);
    expect(letters.counts.deadLetterPublished + again.counts.deadLetterPublished).toBe(0);
    expect([...letters.takeUnclaimed(), ...again.takeUnclaimed()]).toEqual([]);
  });

  it('holds what nothing kept for flush() (no topic, no file, no callback), once', () => {
    const letters = new DeadLetters({ logger });
    letters.route([refused(1), refused(2)]);
    expect(letters.takeUnclaimed().map((l) => l.key)).toEqual(['k1', 'k2']);
    expect(letters.takeUnclaimed()).toEqual([]);
    const withCallback = new DeadLetters({ onDeadLetter: () => {}, logger });
    withCallback.route([refused(3)]);
    expect(withCallback.takeUnclaimed()).toEqual([]);
  });
});
