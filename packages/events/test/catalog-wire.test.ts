import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  createEventProducer,
  defineEventCatalog,
  embeddedLogTransport,
  isCatalogError,
  isEventEncodeError,
} from '../src/index.js';
import { removeTempDirs, tempDir } from './helpers.js';

describe('what emit() accepts survives the wire', () => {
  it.each([
    ['z.date()', z.object({ at: z.date() }), 'payload.at'],
    ['z.bigint()', z.object({ n: z.object({ big: z.bigint() }) }), 'payload.n.big'],
    ['a transform', z.object({ length: z.string().transform((s) => s.length) }), 'payload.length'],
    ['z.map()', z.object({ m: z.map(z.string(), z.number()) }), 'payload.m'],
    ['z.set() in an array', z.object({ list: z.array(z.set(z.string())) }), 'payload.list[]'],
  ])('refuses a catalogue with %s when it is defined, naming the field', (_what, payload, path) => {
    let thrown: unknown;
    try {
      defineEventCatalog({ 'play.started': { version: 1, payload } });
    } catch (error) {
      thrown = error;
    }
    expect(isCatalogError(thrown)).toBe(true);
    expect(thrown).toMatchObject({ code: 'BACKLOT_EVENTS_CATALOG_INVALID', eventName: 'play.started' });
    expect((thrown as Error).message).toContain(path);
  });

  it('accepts the wire-safe shapes (a time as an ISO string, defaults, optional fields, enums, records)', () => {
    const events = defineEventCatalog({
      'play.started': {
        version: 1,
        payload: z.object({
          at: z.iso.datetime(),
          country: z.enum(['FR', 'US']).default('FR'),
          note: z.string().trim().optional(),
          counts: z.record(z.string(), z.number().int()),
        }),
      },
    });
    const event = events.envelope('play.started', { at: '2026-11-26T10:00:00Z', counts: { a: 1 } }, { source: 's' });
    expect(events.decode(events.encode(event))).toEqual(event);
  });

  it('throws a coded EventEncodeError (counted as invalid) for a payload that passes its schema but cannot be encoded', () => {
    const events = defineEventCatalog({
      'debug.dump': { version: 1, payload: z.object({ data: z.unknown() }) },
    });
    const producer = createEventProducer({
      catalog: events,
      source: 'play-api',
      transport: embeddedLogTransport({ dir: tempDir() }),
      spool: false,
    });
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    for (const data of [10n, circular]) {
      let thrown: unknown;
      try {
        producer.emit('debug.dump', { data });
      } catch (error) {
        thrown = error;
      }
      expect(isEventEncodeError(thrown)).toBe(true);
      expect(thrown).toMatchObject({ code: 'BACKLOT_EVENT_UNENCODABLE', eventName: 'debug.dump' });
    }
    producer.emit('debug.dump', { data: { fine: [1, 'two'] } });
    expect(producer.metrics()).toMatchObject({ emitted: 1, invalid: 2 });
    return producer.close().finally(removeTempDirs);
  });

  it('property: decode(encode(envelope)) gives back the envelope, for any payload the schema accepts', () => {
    const payload = z.object({
      profileId: z.string().min(1),
      seq: z.number().int(),
      score: z.number(),
      tags: z.array(z.string()),
      nested: z.object({ flag: z.boolean(), label: z.string().nullable() }),
      extra: z.record(z.string(), z.string()).optional(),
    });
    const events = defineEventCatalog({ 'play.started': { version: 1, payload } });
    const text = fc.string({ unit: 'binary', maxLength: 40 });
    fc.assert(
      fc.property(
        fc.record({
          profileId: fc.string({ unit: 'binary', minLength: 1, maxLength: 20 }),
          seq: fc.maxSafeInteger(),
          // JSON has no -0: it reads back as 0.
          score: fc.double({ noNaN: true, noDefaultInfinity: true }).map((n) => (Object.is(n, -0) ? 0 : n)),
          tags: fc.array(text, { maxLength: 5 }),
          nested: fc.record({ flag: fc.boolean(), label: fc.option(text, { nil: null }) }),
          extra: fc.option(fc.dictionary(text, text, { maxKeys: 4 }), { nil: undefined }),
        }),
        fc.option(fc.string({ minLength: 1, maxLength: 30 }), { nil: undefined }),
        (value, traceId) => {
          const input = value.extra === undefined ? { ...value, extra: undefined } : value;
          const event = events.envelope('play.started', input, { source: 'play-api', traceId });
          const back = events.decode(events.encode(event));
          expect(back).toEqual(JSON.parse(JSON.stringify(event)));
          expect(back.payload).toEqual(payload.parse(event.payload));
        },
      ),
      { numRuns: 300 },
    );
  });
});
