import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineEvent, defineEventCatalog } from '../src/index.js';
import { describeFailure } from '../src/pipeline/dead-letter-record.js';
import { thrown } from './helpers.js';

const catalog = defineEventCatalog({
  e: defineEvent({ version: 1, payload: z.object({ n: z.number() }) }).evolve({
    version: 2,
    payload: z.object({ n: z.number(), half: z.number().int() }),
    upcast: (v1) => {
      if (v1.n < 0) throw new Error('negative');
      return { ...v1, half: v1.n / 2 };
    },
  }),
});

const wire = (name: string, version: number, payload: unknown) =>
  Buffer.from(JSON.stringify({ id: 'i', name, version, time: '2026-12-01T10:00:00.000Z', source: 's', payload }));

/** How the pipeline describes the failure of decoding `value`. */
function decodeFailure(value: Buffer) {
  return describeFailure(
    'decode',
    thrown(() => catalog.decode(value)),
    value,
  );
}

describe('what a pipeline dead letter records', () => {
  it('names the code, rule, field, event and wire version of each way decoding fails', () => {
    expect(decodeFailure(Buffer.from('{not json'))).toEqual({ code: 'BACKLOT_EVENT_INVALID', rule: 'not-json' });
    expect(decodeFailure(wire('nope', 1, {}))).toEqual({
      code: 'BACKLOT_EVENT_UNKNOWN',
      rule: 'event-unknown',
      field: 'name',
      event: 'nope',
      version: 1,
    });
    expect(decodeFailure(wire('e', 7, {}))).toEqual({
      code: 'BACKLOT_EVENT_VERSION_UNKNOWN',
      rule: 'version-unknown',
      field: 'version',
      event: 'e',
      version: 7,
    });
    expect(decodeFailure(wire('e', 1, { n: 'x' }))).toEqual({
      code: 'BACKLOT_EVENT_INVALID',
      rule: 'invalid_type',
      field: 'payload.n',
      event: 'e',
      version: 1,
    });
    expect(decodeFailure(wire('e', 1, { n: -2 }))).toEqual({
      code: 'BACKLOT_EVENT_UPCAST_FAILED',
      rule: 'upcast-threw',
      event: 'e',
      version: 1,
    });
    expect(decodeFailure(wire('e', 1, { n: 3 }))).toEqual({
      code: 'BACKLOT_EVENT_UPCAST_FAILED',
      rule: 'upcast-output-invalid_type',
      field: 'payload.half',
      event: 'e',
      version: 1,
    });
    expect(describeFailure('decode', 'a string thrown', null)).toEqual({
      code: 'BACKLOT_DECODE_FAILED',
      rule: 'invalid',
    });
  });

  it('a processor that throws: its error code when it has one, else BACKLOT_PROCESS_FAILED, with the wire version', () => {
    const value = wire('e', 1, { n: 4 });
    expect(describeFailure('process', new Error('sink down'), value)).toEqual({
      code: 'BACKLOT_PROCESS_FAILED',
      rule: 'processor-threw',
      event: 'e',
      version: 1,
    });
    expect(describeFailure('process', Object.assign(new Error('x'), { code: 'ECONNRESET' }), null)).toEqual({
      code: 'ECONNRESET',
      rule: 'processor-threw',
    });
  });
});
