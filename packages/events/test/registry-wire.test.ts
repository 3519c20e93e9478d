import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { EventsError } from '../src/errors.js';
import {
  createEventProducer,
  createPipeline,
  ENVELOPE_HEADERS,
  EVENT_KEYWORD,
  frame,
  isFramed,
  isRegistryError,
  MAGIC_BYTE,
  type RegistrySchema,
  type SchemaRegistryClient,
  schemaRegistry,
  unframe,
  VERSION_KEYWORD,
} from '../src/index.js';
import { RegistryDecoder } from '../src/registry/decoder.js';
import { RegistryEncoder } from '../src/registry/encoder.js';
import { RegistryError } from '../src/registry/errors.js';
import { emittedFromDefinitions, schemaSourceOf } from '../src/registry/schema-source.js';
import { subjectOf } from '../src/registry/subjects.js';
import type { ConsumedMessage } from '../src/transport/types.js';
import { events } from './fixtures/catalog.js';

// Unit tests of registry mode's pure parts: the wire format, the subjects, the registered
// schema documents, option errors, and the codec over an in-memory registry (a fake; the
// real one, Apicurio, is exercised in registry.test.ts).

const definitions = {
  'play.started': {
    version: 3,
    payload: z.object({ profileId: z.string().min(1), titleId: z.string(), country: z.string().length(2) }),
  },
} as const;

/** An in-memory stand-in for a registry: ids by schema text, schemas by id. */
function memoryRegistry(): SchemaRegistryClient & { schemas: Map<number, RegistrySchema> } {
  const schemas = new Map<number, RegistrySchema>();
  const ids = new Map<string, number>();
  let requests = 0;
  return {
    url: 'memory:',
    schemas,
    get requests() {
      return requests;
    },
    async register(_subject, schema) {
      requests++;
      let id = ids.get(schema.schema);
      if (id === undefined) {
        id = ids.size + 1;
        ids.set(schema.schema, id);
        schemas.set(id, schema);
      }
      return id;
    },
    async lookup(subject, schema) {
      requests++;
      const id = ids.get(schema.schema);
      if (id === undefined)
        throw new RegistryError('BACKLOT_EVENTS_REGISTRY_UNKNOWN_SCHEMA', 'not registered', { subject });
      return id;
    },
    async schemaById(id) {
      requests++;
      const schema = schemas.get(id);
      if (!schema)
        throw new RegistryError('BACKLOT_EVENTS_REGISTRY_UNKNOWN_SCHEMA', `no schema ${id}`, { schemaId: id });
      return schema;
    },
    async setCompatibility() {},
    async compatibility() {
      return 'BACKWARD';
    },
  };
}

const consumed = (value: Buffer | null, headers?: Record<string, string>): ConsumedMessage => ({
  topic: 't',
  partition: 0,
  offset: '0',
  key: null,
  value,
  timestamp: 0,
  ...(headers ? { headers } : {}),
});

describe('the Confluent wire format', () => {
  it('frames as magic byte 0, a 4-byte big-endian schema id, then the payload', () => {
    const framed = frame(0x01020304, Buffer.from('{"a":1}'));
    expect([...framed.subarray(0, 5)]).toEqual([MAGIC_BYTE, 1, 2, 3, 4]);
    expect(framed.subarray(5).toString()).toBe('{"a":1}');
    expect(isFramed(framed)).toBe(true);
    expect(isFramed(Buffer.from('{"id":"x"}'))).toBe(false);
    expect(() => frame(-1, Buffer.alloc(0))).toThrow(RangeError);
    expect(() => frame(2 ** 31, Buffer.alloc(0))).toThrow(RangeError);
  });

  it('round-trips any schema id and payload (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0x7fffffff }), fc.uint8Array({ maxLength: 256 }), (id, payload) => {
        const back = unframe(frame(id, payload));
        expect(back.schemaId).toBe(id);
        expect([...back.payload]).toEqual([...payload]);
      }),
    );
  });

  it('writes text payloads as UTF-8 straight into the frame (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 0x7fffffff }),
        fc.string({ unit: 'grapheme', maxLength: 64 }),
        (id, text) => {
          expect(frame(id, text)).toEqual(frame(id, Buffer.from(text, 'utf8')));
        },
      ),
    );
  });

  it('refuses a truncated header, a missing magic byte and a negative id with BAD_FRAME', () => {
    for (const bytes of [[0], [0, 0, 0, 1], [], [0x7b, 0, 0, 0, 1], [0, 0xff, 0xff, 0xff, 0xff]]) {
      const error = (() => {
        try {
          unframe(Uint8Array.from(bytes));
        } catch (caught) {
          return caught;
        }
      })();
      expect(isRegistryError(error) && error.code).toBe('BACKLOT_EVENTS_REGISTRY_BAD_FRAME');
    }
  });

  it('never throws anything but a typed error for arbitrary bytes, framed or not (property)', async () => {
    const registry = memoryRegistry();
    const source = schemaSourceOf(emittedFromDefinitions(definitions));
    const id = await registry.register('play.started', { schemaType: 'JSON', schema: source('play.started').text });
    const decoder = new RegistryDecoder(registry);
    const headers = {
      [ENVELOPE_HEADERS.id]: 'e1',
      [ENVELOPE_HEADERS.time]: '2026-12-03T10:00:00.000Z',
      [ENVELOPE_HEADERS.source]: 'play-api',
    };
    const bytes = fc.oneof(
      fc.uint8Array({ maxLength: 64 }),
      fc.uint8Array({ maxLength: 64 }).map((tail) => Buffer.concat([Buffer.from([0]), Buffer.from(tail)])),
      fc.uint8Array({ maxLength: 64 }).map((tail) => frame(id, tail)),
      fc.jsonValue().map((value) => frame(id, Buffer.from(JSON.stringify(value) ?? 'null'))),
    );
    await fc.assert(
      fc.asyncProperty(bytes, fc.boolean(), async (value, withHeaders) => {
        try {
          events.decode(await decoder.envelope(consumed(Buffer.from(value), withHeaders ? headers : undefined)));
        } catch (error) {
          // Typed and coded: a bad frame, an invalid payload, or a version the catalogue does not know.
          expect(error instanceof RegistryError || error instanceof EventsError).toBe(true);
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('registry mode codec (over an in-memory registry)', () => {
  const source = schemaSourceOf(emittedFromDefinitions(definitions));

  it('registers each event version once, as JSON Schema naming the event and version', () => {
    const schema = source('play.started');
    const document = JSON.parse(schema.text);
    expect(document).toMatchObject({
      type: 'object',
      title: 'play.started',
      [EVENT_KEYWORD]: 'play.started',
      [VERSION_KEYWORD]: 3,
      required: ['profileId', 'titleId', 'country'],
    });
    expect(source('play.started')).toBe(schema);
    expect(() => source('nope')).toThrow(/unknown event 'nope'/);
  });

  it('names subjects by event (record), topic and event (topic-record) or topic', () => {
    expect(subjectOf('record', 'events', 'play.started')).toBe('play.started');
    expect(subjectOf('topic-record', 'events', 'play.started')).toBe('events-play.started');
    expect(subjectOf('topic', 'events', 'play.started')).toBe('events-value');
  });

  it('frames an envelope with its payload as the value and the envelope in headers, and reads it back', async () => {
    const registry = memoryRegistry();
    const encoder = new RegistryEncoder({ client: registry, schemas: source, subjects: 'record', autoRegister: true });
    const envelope = {
      id: 'e1',
      name: 'play.started',
      version: 3,
      time: '2026-12-03T10:00:00.000Z',
      source: 'play-api',
      traceId: 'trace-1',
      payload: { profileId: 'p1', titleId: 't1', country: 'FR' },
    };
    const message = { key: 'p1', value: Buffer.from(JSON.stringify(envelope)), timestamp: 1, headers: { a: 'b' } };
    const framed = await encoder.frame('events', message);
    const { schemaId, payload } = unframe(framed.value);
    expect(JSON.parse(payload.toString())).toEqual(envelope.payload);
    expect(framed.headers).toEqual({
      a: 'b',
      [ENVELOPE_HEADERS.id]: 'e1',
      [ENVELOPE_HEADERS.name]: 'play.started',
      [ENVELOPE_HEADERS.version]: '3',
      [ENVELOPE_HEADERS.time]: envelope.time,
      [ENVELOPE_HEADERS.source]: 'play-api',
      [ENVELOPE_HEADERS.traceId]: 'trace-1',
    });
    expect(await encoder.frame('events', framed)).toBe(framed);
    // Once the id is known, emit frames at once (no I/O), to the same bytes and headers.
    expect(encoder.frameNow('other-topic', envelope)).toBeUndefined();
    const now = encoder.frameNow('events', envelope);
    expect(now?.value).toEqual(framed.value);
    expect({ a: 'b', ...now?.headers }).toEqual(framed.headers);
    const decoder = new RegistryDecoder(registry);
    expect(JSON.parse(String(await decoder.envelope(consumed(framed.value, framed.headers))))).toEqual(envelope);
    expect(registry.schemas.get(schemaId)?.schemaType).toBe('JSON');
    // Plain envelopes pass through untouched (a topic that migrates holds both).
    expect(await decoder.envelope(consumed(message.value))).toBe(message.value);
  });

  it('names the missing envelope header of a framed record', async () => {
    const registry = memoryRegistry();
    const id = await registry.register('x', { schemaType: 'JSON', schema: source('play.started').text });
    const decoder = new RegistryDecoder(registry);
    await expect(decoder.envelope(consumed(frame(id, Buffer.from('{}')), {}))).rejects.toThrow(
      /lacks the 'backlot-event-id' header/,
    );
    await expect(decoder.envelope(consumed(frame(id + 1, Buffer.from('{}'))))).rejects.toMatchObject({
      code: 'BACKLOT_EVENTS_REGISTRY_UNKNOWN_SCHEMA',
    });
  });

  it('refuses bad registry options naming the field', () => {
    expect(() => schemaRegistry({ url: 'localhost:8081' })).toThrow(/url must/);
    expect(() => schemaRegistry({ url: 'http://127.0.0.1:8081', timeoutMs: 0 })).toThrow(
      /timeoutMs must be positive|timeoutMs must be a positive/,
    );
    expect(() => schemaRegistry({ url: 'http://127.0.0.1:8081', retries: 100 })).toThrow(/retries must be at most 10/);
    const client = schemaRegistry({ url: 'http://127.0.0.1:1/apis/ccompat/v7' });
    expect(() =>
      createEventProducer({
        catalog: events,
        source: 's',
        spool: false,
        registry: { client, schemas: definitions, subjects: 'topics' as 'topic' },
      }),
    ).toThrow(/registry.subjects must be 'record'/);
    expect(() =>
      createEventProducer({
        catalog: events,
        source: 's',
        spool: false,
        registry: { client: {} as SchemaRegistryClient, schemas: definitions },
      }),
    ).toThrow(/registry.client is required/);
    expect(() =>
      createPipeline({
        catalog: events,
        groupId: 'g',
        registry: { client: 'http://x' as unknown as SchemaRegistryClient },
      }),
    ).toThrow(/registry.client is required/);
  });
});
