import { describe, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import { defineEvent, defineEventCatalog, type EventEnvelope } from '../src/index.js';

const events = defineEventCatalog({
  'play.started': { version: 1, payload: z.object({ profileId: z.string(), positionMs: z.number() }) },
  'search.performed': { version: 1, payload: z.object({ query: z.string().default('') }) },
});
type EventName = Parameters<typeof events.envelope>[0];

describe('event catalogue types', () => {
  it('knows its event names', () => {
    expectTypeOf<EventName>().toEqualTypeOf<'play.started' | 'search.performed'>();
  });

  it('types the payload by event name', () => {
    const event = events.envelope('play.started', { profileId: 'p', positionMs: 1 }, { source: 's' });
    expectTypeOf(event).toEqualTypeOf<EventEnvelope<'play.started', { profileId: string; positionMs: number }>>();
  });

  it('accepts schema input types and returns output types', () => {
    const event = events.envelope('search.performed', {}, { source: 's' });
    expectTypeOf(event.payload).toEqualTypeOf<{ query: string }>();
  });

  it('rejects wrong payloads and unknown names at compile time', () => {
    // @ts-expect-error positionMs must be a number
    events.envelope('play.started', { profileId: 'p', positionMs: '1' }, { source: 's' });
    // @ts-expect-error unknown event name
    events.envelope('play.stopped', {}, { source: 's' });
  });

  it('decodes to a union discriminated by name', () => {
    const decoded = events.decode('');
    expectTypeOf(decoded.name).toEqualTypeOf<'play.started' | 'search.performed'>();
    if (decoded.name === 'play.started') expectTypeOf(decoded.payload.positionMs).toEqualTypeOf<number>();
    if (decoded.name === 'search.performed') expectTypeOf(decoded.payload.query).toEqualTypeOf<string>();
  });
});

describe('versioned event types', () => {
  const versioned = defineEventCatalog({
    e: defineEvent({ version: 1, payload: z.object({ a: z.string() }) })
      .evolve({ version: 2, payload: z.object({ a: z.string(), b: z.number() }), upcast: (v1) => ({ ...v1, b: 0 }) })
      .evolve({
        version: 3,
        payload: z.object({ ab: z.string() }),
        upcast: (v2) => {
          expectTypeOf(v2).toEqualTypeOf<{ a: string; b: number }>();
          return { ab: `${v2.a}${v2.b}` };
        },
      }),
  });

  it('types envelopes and decoded events with the latest version', () => {
    expectTypeOf(versioned.envelope('e', { ab: 'x' }, { source: 's' }).payload).toEqualTypeOf<{ ab: string }>();
    expectTypeOf(versioned.decode('').payload).toEqualTypeOf<{ ab: string }>();
  });

  it('checks the upcaster output against the next version at compile time', () => {
    defineEvent({ version: 1, payload: z.object({ a: z.string() }) }).evolve({
      version: 2,
      payload: z.object({ b: z.number() }),
      // @ts-expect-error b must be a number
      upcast: (v1) => ({ b: v1.a }),
    });
  });
});
