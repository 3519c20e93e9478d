import { Writable } from 'node:stream';
import { trace } from '@opentelemetry/api';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { traceLogFields } from '../../src/http/tracing.ts';
import { installTracing } from '../support/otel.ts';

let tracing: ReturnType<typeof installTracing>;
beforeAll(() => {
  tracing = installTracing();
});
afterAll(async () => {
  await tracing.stop();
});

/** A pino logger with the services' mixin, writing JSON lines to an array. */
function capturedLogger() {
  const lines: Record<string, unknown>[] = [];
  const raw: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) {
        raw.push(line);
        lines.push(JSON.parse(line));
      }
      done();
    },
  });
  return { lines, raw, logger: pino({ level: 'info', mixin: traceLogFields }, stream) };
}

describe('trace ids in the services’ log lines (pino mixin)', () => {
  it('a line logged inside a span names its trace and span; outside, nothing is added', async () => {
    const { lines, logger } = capturedLogger();
    logger.info('outside');
    let ids = { traceId: '', spanId: '' };
    await trace.getTracer('test').startActiveSpan('request', async (span) => {
      ids = span.spanContext();
      await Promise.resolve();
      logger.info('inside, after an await');
      span.end();
    });
    expect(lines[0]).not.toHaveProperty('trace_id');
    expect(lines[1]).toMatchObject({ msg: 'inside, after an await', trace_id: ids.traceId, span_id: ids.spanId });
    expect(lines[1]?.trace_flags).toBe('01');
  });

  it('a child logger that already binds the trace (a request’s) gets no second copy', () => {
    const { raw, logger } = capturedLogger();
    trace.getTracer('test').startActiveSpan('request', (span) => {
      const { traceId, spanId } = span.spanContext();
      logger.child({ trace_id: traceId, span_id: spanId }).info('request completed');
      span.end();
    });
    // One key each: pino would write a duplicate key if the mixin added them again.
    expect(raw).toHaveLength(1);
    expect(raw[0]?.match(/"trace_id"/g)).toHaveLength(1);
    expect(raw[0]?.match(/"span_id"/g)).toHaveLength(1);
    expect(traceLogFields({}, 30, { bindings: () => ({ trace_id: 'x' }) })).toEqual({});
  });
});
