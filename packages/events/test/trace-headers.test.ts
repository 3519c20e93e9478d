import { context, propagation, ROOT_CONTEXT, TraceFlags, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeRecord, encodeRecord, type LogRecord } from '../src/log/record.js';
import { extractSpanContext, injectTraceHeaders } from '../src/tracing/context-headers.js';
import { textHeaders } from '../src/transport/record-headers.js';

beforeAll(() => {
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
});
afterAll(() => {
  propagation.disable();
});

const hex = (length: number) =>
  fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: length, maxLength: length });
const spanContexts = fc.record({
  traceId: hex(32).filter((id) => /[1-9a-f]/.test(id)),
  spanId: hex(16).filter((id) => /[1-9a-f]/.test(id)),
  traceFlags: fc.constantFrom(TraceFlags.NONE, TraceFlags.SAMPLED),
});
const headerMaps = fc.dictionary(fc.string({ maxLength: 40 }), fc.string({ maxLength: 200 }), { maxKeys: 12 });

/** The layout records had before headers: what spools and logs written by earlier versions hold. */
function legacyEncode(record: LogRecord): Buffer {
  const topic = Buffer.from(record.topic);
  const key = record.key === null ? null : Buffer.from(record.key);
  const out = Buffer.alloc(2 + topic.length + 4 + (key?.length ?? 0) + 8 + record.value.length);
  let at = out.writeUInt16BE(topic.length, 0);
  at += topic.copy(out, at);
  at = out.writeInt32BE(key ? key.length : -1, at);
  if (key) at += key.copy(out, at);
  at = out.writeDoubleBE(record.timestamp, at);
  record.value.copy(out, at);
  return out;
}

const records = fc.record({
  topic: fc.string({ minLength: 1, maxLength: 249 }),
  key: fc.option(fc.string({ maxLength: 100 }), { nil: null }),
  value: fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes)),
  timestamp: fc.double({ noNaN: true }),
});

describe('record headers through the spool and embedded-log layout', () => {
  it('any headers round-trip with the record (property)', () => {
    fc.assert(
      fc.property(records, headerMaps, (record, headers) => {
        const decoded = decodeRecord(encodeRecord({ ...record, headers }));
        expect(decoded.topic).toBe(record.topic);
        expect(decoded.key).toBe(record.key);
        expect(decoded.value.equals(record.value)).toBe(true);
        expect(Object.is(decoded.timestamp, record.timestamp)).toBe(true);
        // An empty map is written as no headers at all.
        expect(decoded.headers ?? {}).toEqual(headers);
      }),
    );
  });

  it('a record without headers is written exactly as before headers existed, and older records read back (property)', () => {
    fc.assert(
      fc.property(records, (record) => {
        const legacy = legacyEncode(record);
        expect(encodeRecord(record).equals(legacy)).toBe(true);
        expect(encodeRecord({ ...record, headers: {} }).equals(legacy)).toBe(true);
        const decoded = decodeRecord(legacy);
        expect(decoded.headers).toBeUndefined();
        expect(decoded.value.equals(record.value)).toBe(true);
      }),
    );
  });

  it('refuses a topic name too long for the layout, naming the limit', () => {
    expect(() => encodeRecord({ topic: 'x'.repeat(0x8000), key: null, value: Buffer.alloc(0), timestamp: 0 })).toThrow(
      /at most 32767 fit/,
    );
  });
});

describe('W3C trace context in record headers', () => {
  it('inject then extract gives back the span context, whatever other headers the record carries (property)', () => {
    fc.assert(
      fc.property(spanContexts, headerMaps, (spanContext, others) => {
        const headers = injectTraceHeaders(trace.setSpanContext(ROOT_CONTEXT, { ...spanContext, isRemote: false }));
        expect(headers?.traceparent).toBe(`00-${spanContext.traceId}-${spanContext.spanId}-0${spanContext.traceFlags}`);
        // Kafka headers are case-sensitive: other producers' own `traceparent` spellings are ours to ignore.
        const mixed = { ...Object.fromEntries(Object.entries(others).filter(([k]) => !/^trace/i.test(k))), ...headers };
        const extracted = extractSpanContext(mixed);
        expect(extracted).toMatchObject({ ...spanContext, isRemote: true });
        // Through the embedded-log/spool layout as well.
        const record = decodeRecord(
          encodeRecord({ topic: 't', key: null, value: Buffer.alloc(1), timestamp: 1, headers: mixed }),
        );
        expect(extractSpanContext(record.headers)?.spanId).toBe(spanContext.spanId);
      }),
    );
  });

  it('arbitrary header maps and malformed traceparents never throw: the record is just untraced (property)', () => {
    fc.assert(
      fc.property(
        headerMaps,
        fc.oneof(
          fc.string({ maxLength: 120 }),
          hex(32).map((id) => `00-${id}-0000000000000000-01`),
          fc.constant('00-00000000000000000000000000000000-0000000000000001-01'),
          fc.constant('ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'),
          fc.constant('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-extra'),
        ),
        (headers, traceparent) => {
          expect(() => extractSpanContext(headers)).not.toThrow();
          const extracted = extractSpanContext({ ...headers, traceparent });
          if (extracted) expect(trace.isSpanContextValid(extracted)).toBe(true);
        },
      ),
    );
    expect(extractSpanContext({ traceparent: 'not-a-traceparent' })).toBeUndefined();
    expect(
      extractSpanContext({ traceparent: '00-00000000000000000000000000000000-b7ad6b7169203331-01' }),
    ).toBeUndefined();
    expect(extractSpanContext(undefined)).toBeUndefined();
  });

  it('writes nothing when no span is active or no propagator is registered', () => {
    expect(injectTraceHeaders(context.active())).toBeUndefined();
    propagation.disable();
    try {
      const sampled = { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: 1 };
      expect(injectTraceHeaders(trace.setSpanContext(ROOT_CONTEXT, sampled))).toBeUndefined();
    } finally {
      propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    }
  });
});

describe('consumed header decoding', () => {
  const bytesOrText = fc.oneof(
    fc.string({ maxLength: 50 }),
    fc.uint8Array({ maxLength: 50 }).map((b) => Buffer.from(b)),
  );
  it('kafkajs objects and @platformatic/kafka maps of any shape decode to text, first value of a repeated header (property)', () => {
    fc.assert(
      fc.property(
        fc.dictionary(
          fc.string({ maxLength: 20 }),
          fc.oneof(bytesOrText, fc.array(bytesOrText, { maxLength: 3 }), fc.constant(undefined)),
          { maxKeys: 8 },
        ),
        (headers) => {
          const kafkajs = textHeaders(headers);
          const map = textHeaders(new Map(Object.entries(headers).map(([k, v]) => [Buffer.from(k), v])));
          expect(map).toEqual(kafkajs);
          for (const [name, value] of Object.entries(headers)) {
            const first = Array.isArray(value) ? value[0] : value;
            if (first === undefined) expect(kafkajs?.[name]).toBeUndefined();
            else expect(kafkajs?.[name]).toBe(Buffer.from(first).toString('utf8'));
          }
        },
      ),
    );
    expect(textHeaders(undefined)).toBeUndefined();
    expect(textHeaders({})).toBeUndefined();
  });
});
