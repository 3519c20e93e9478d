import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  isFramed,
  isTransportSendError,
  type OutgoingMessage,
  type SchemaRegistryClient,
  type SendReport,
  type TransportProducer,
  TransportSendError,
  unframe,
} from '../src/index.js';
import { RegistryEncoder } from '../src/registry/encoder.js';
import { RegistryError } from '../src/registry/errors.js';
import { framingProducer } from '../src/registry/framing-producer.js';
import { emittedFromDefinitions, schemaSourceOf } from '../src/registry/schema-source.js';

// The framing producer's contract with the event producer, over fakes: an in-memory inner
// transport and a registry the test makes reachable or not (the real pair runs in registry.test.ts).

const definitions = {
  'play.started': { version: 1, payload: z.object({ profileId: z.string() }) },
  'bookmark.set': { version: 1, payload: z.object({ profileId: z.string(), positionMs: z.number() }) },
};

/** A registry whose next `register` can be held, then fails as unreachable; others answer id 7 (409 for bookmark.set). */
function registry() {
  let held: Promise<void> | undefined;
  const client: SchemaRegistryClient & { hold: () => () => void } = {
    url: 'memory:',
    requests: 0,
    hold: () => {
      let release = () => {};
      held = new Promise<void>((resolve) => {
        release = resolve;
      });
      return release;
    },
    async register(subject) {
      const wait = held;
      held = undefined;
      if (wait) {
        await wait;
        throw new RegistryError('BACKLOT_EVENTS_REGISTRY_UNREACHABLE', 'no answer', { subject });
      }
      if (subject === 'bookmark.set') {
        throw new RegistryError('BACKLOT_EVENTS_REGISTRY_REFUSED', 'incompatible', { subject, status: 409 });
      }
      return 7;
    },
    async lookup() {
      return 7;
    },
    async schemaById() {
      return { schemaType: 'JSON', schema: '{}' };
    },
    async setCompatibility() {},
    async compatibility() {
      return 'NONE';
    },
  };
  return client;
}

function memoryTransport() {
  const sent: { topic: string; messages: readonly OutgoingMessage[] }[] = [];
  let next: ((messages: readonly OutgoingMessage[]) => Promise<SendReport | undefined>) | undefined;
  const producer: TransportProducer = {
    pipelining: 4,
    async connect() {},
    async send(topic, messages) {
      sent.push({ topic, messages });
      const once = next;
      next = undefined;
      return once?.(messages);
    },
    resume() {},
    async close() {},
  };
  return { producer, sent, failNext: (fn: typeof next) => (next = fn) };
}

const envelope = (name: string, id: string, payload: object) => ({
  key: null,
  timestamp: 1,
  value: Buffer.from(JSON.stringify({ id, name, version: 1, time: '2026-12-03T10:00:00.000Z', source: 's', payload })),
});

describe('framing producer', () => {
  it('frames each record, refuses for good the ones that cannot be framed, and names the records it was given', async () => {
    const client = registry();
    const inner = memoryTransport();
    const framed = framingProducer(
      inner.producer,
      new RegistryEncoder({
        client,
        schemas: schemaSourceOf(emittedFromDefinitions(definitions)),
        subjects: 'record',
        autoRegister: true,
      }),
    );
    const play = envelope('play.started', 'e1', { profileId: 'p1' });
    const bookmark = envelope('bookmark.set', 'e2', { profileId: 'p1', positionMs: 3 });
    const gone = envelope('title.removed', 'e3', {}); // replayed from an older spool: not in the catalogue
    const report = await framed.send('events', [play, bookmark, gone]);
    expect(report?.rejected.map((r) => [r.message, r.code])).toEqual([
      [bookmark, 'BACKLOT_EVENTS_REGISTRY_REFUSED'],
      [gone, 'BACKLOT_EVENT_UNKNOWN'],
    ]);
    expect(inner.sent).toHaveLength(1);
    const [out] = inner.sent[0]?.messages ?? [];
    expect(isFramed(out?.value ?? Buffer.alloc(0)) && unframe(out?.value as Buffer).schemaId).toBe(7);

    // The inner transport's partial failure comes back naming the records as they were given.
    inner.failNext(async (messages) => {
      throw new TransportSendError('broker away', messages, []);
    });
    const error = await framed.send('events', [play]).catch((e: unknown) => e);
    expect(isTransportSendError(error) && error.unsent).toEqual([play]);
  });

  it('fails the whole send while the registry is unreachable, and refuses later sends, in order, until resume()', async () => {
    const client = registry();
    const inner = memoryTransport();
    const framed = framingProducer(
      inner.producer,
      new RegistryEncoder({
        client,
        schemas: schemaSourceOf(emittedFromDefinitions(definitions)),
        subjects: 'record',
        autoRegister: true,
      }),
    );
    // The first batch waits on a registry that then fails; the second frames at once (same
    // partition) and must neither overtake the first nor go out after it failed.
    const release = client.hold();
    const first = framed.send('events', [envelope('play.started', 'a', { profileId: 'p' })]);
    const second = framed.send('events', [envelope('play.started', 'b', { profileId: 'p' })]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(inner.sent).toHaveLength(0);
    release();
    await expect(first).rejects.toMatchObject({ code: 'BACKLOT_EVENTS_REGISTRY_UNREACHABLE', retryable: true });
    await expect(second).rejects.toMatchObject({ code: 'BACKLOT_EVENTS_REGISTRY_UNREACHABLE' });
    expect(inner.sent).toHaveLength(0);
    framed.resume?.();
    await framed.send('events', [envelope('play.started', 'a', { profileId: 'p' })]);
    expect(inner.sent).toHaveLength(1);
  });
});
