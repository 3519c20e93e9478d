import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineEventCatalog, InvalidEventError, isInvalidEventError, isUnknownEventError } from '../src/index.js';

const events = defineEventCatalog({
  'play.started': {
    version: 2,
    payload: z.object({ profileId: z.string().min(1), titleId: z.string(), positionMs: z.number().int().min(0) }),
  },
  'search.performed': { version: 1, payload: z.object({ query: z.string().trim() }) },
});

describe('defineEventCatalog', () => {
  it('wraps a valid payload in an envelope', () => {
    const time = new Date('2026-11-26T10:00:00Z');
    const event = events.envelope(
      'play.started',
      { profileId: 'p1', titleId: '80100172', positionMs: 0 },
      { source: 'play-api', traceId: 'req-1', time },
    );
    expect(event).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      name: 'play.started',
      version: 2,
      time: '2026-11-26T10:00:00.000Z',
      source: 'play-api',
      traceId: 'req-1',
      payload: { profileId: 'p1', titleId: '80100172', positionMs: 0 },
    });
  });

  it('gives every envelope its own id', () => {
    const a = events.envelope('search.performed', { query: 'dark' }, { source: 's' });
    const b = events.envelope('search.performed', { query: 'dark' }, { source: 's' });
    expect(a.id).not.toBe(b.id);
  });

  it('stores the parsed payload (schema transforms applied)', () => {
    expect(events.envelope('search.performed', { query: '  dark  ' }, { source: 's' }).payload.query).toBe('dark');
  });

  it('rejects an invalid payload with every bad field named', () => {
    const error = (() => {
      try {
        events.envelope('play.started', { profileId: '', titleId: 7, positionMs: -1 } as never, { source: 'play-api' });
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(InvalidEventError);
    expect(isInvalidEventError(error)).toBe(true);
    const paths = (error as InvalidEventError).issues.map((issue) => issue.path);
    expect(paths).toEqual(['payload.profileId', 'payload.titleId', 'payload.positionMs']);
    expect((error as Error).message).toMatch(/^invalid event 'play.started' v2: payload.profileId: /);
  });

  it('rejects a missing source', () => {
    expect(() => events.envelope('search.performed', { query: 'x' }, { source: '' })).toThrow(/options.source/);
  });

  it('rejects names outside the catalogue, listing the known ones', () => {
    const call = () => events.envelope('nope' as never, {} as never, { source: 's' });
    expect(call).toThrow(/unknown event 'nope'; the catalogue has: play.started, search.performed/);
    try {
      call();
    } catch (error) {
      expect(isUnknownEventError(error)).toBe(true);
    }
  });

  it('round-trips through encode and decode', () => {
    const event = events.envelope('play.started', { profileId: 'p1', titleId: 't', positionMs: 5 }, { source: 'x' });
    expect(events.decode(events.encode(event))).toEqual(event);
  });

  it('validates what it decodes', () => {
    expect(() => events.decode('not json')).toThrow(/not valid JSON/);
    expect(() => events.decode('{"name":"play.started"}')).toThrow(InvalidEventError);
    const bad = JSON.stringify({
      id: '1',
      name: 'play.started',
      version: 2,
      time: '2026-11-26T10:00:00.000Z',
      source: 's',
      payload: { profileId: 'p1' },
    });
    expect(() => events.decode(bad)).toThrow(/payload.titleId/);
  });

  it('rejects a malformed catalogue at definition time', () => {
    expect(() => defineEventCatalog({})).toThrow(/at least one event/);
    expect(() => defineEventCatalog({ a: { version: 0, payload: z.string() } })).toThrow(/version must be a positive/);
    expect(() => defineEventCatalog({ a: { version: 1, payload: {} as never } })).toThrow(
      /payload must be a zod schema/,
    );
  });
});
