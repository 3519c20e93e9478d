/**
 * `npm run bench -- events-emit`: what tracing costs `emit()` itself, without a
 * broker's noise: the same producer (zod validation, envelope, encoding,
 * batching) on a transport that acknowledges at once, side by side in one run.
 *
 * - backlot: no OpenTelemetry SDK registered (the API's no-op tracer): what
 *   every user without tracing runs.
 * - backlot-otel-off: an SDK registered whose sampler records nothing
 *   (`AlwaysOffSampler`): a non-recording span per emit, and its unsampled
 *   `traceparent` written into the record.
 * - backlot-otel-unsampled-parent: the same SDK, each emit inside a request
 *   span that was sampled out (the usual production case): no span at all, the
 *   parent's context written into the record.
 * - backlot-otel: every emit sampled: a producer span, its `traceparent`
 *   header, spans batched to an exporter that discards them.
 *
 * Figures: emits_per_s (emit of the first event to the last acknowledgement),
 * p50_emit_ns and p99_emit_ns (one `emit()` call, every 16th timed).
 */

import { createEventProducer, defineEventCatalog, type Transport } from '@backlot/events';
import { trace } from '@opentelemetry/api';
import { z } from 'zod';
import { type Figures, runBench } from './lib/harness.ts';
import { withOpenTelemetry } from './lib/otel.ts';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 200_000);

const catalog = defineEventCatalog({
  'play.started': {
    version: 1,
    payload: z.object({ profileId: z.string().min(1), titleId: z.string().min(1), country: z.string().length(2) }),
  },
});

/** A broker that acknowledges every batch at once: only the producer's own work is measured. */
const instant: Transport = {
  name: 'instant',
  producer: () => ({ async connect() {}, async send() {}, async close() {} }),
  consumer: () => {
    throw new Error('not used');
  },
};

function percentile(values: number[], p: number): number {
  const sorted = values.sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
}

async function emitAll(): Promise<Figures> {
  const producer = createEventProducer({
    catalog,
    source: 'bench',
    transport: instant,
    topic: 'events',
    key: (event) => event.payload.profileId,
    spool: false,
    bufferBytes: 64 * 1024 * 1024,
  });
  const samples: number[] = [];
  const start = performance.now();
  for (let i = 0; i < EVENTS; i++) {
    const payload = { profileId: `profile-${i % 5000}`, titleId: `title-${i % 977}`, country: i % 2 ? 'FR' : 'BR' };
    let keepingUp: boolean;
    if ((i & 15) === 0) {
      const before = process.hrtime.bigint();
      keepingUp = producer.emit('play.started', payload);
      samples.push(Number(process.hrtime.bigint() - before));
    } else {
      keepingUp = producer.emit('play.started', payload);
    }
    if (!keepingUp) await producer.ready();
  }
  await producer.flush();
  const seconds = (performance.now() - start) / 1000;
  await producer.close();
  if (producer.metrics().sent !== EVENTS) throw new Error(`sent ${producer.metrics().sent}/${EVENTS}`);
  return { emits_per_s: EVENTS / seconds, p50_emit_ns: percentile(samples, 50), p99_emit_ns: percentile(samples, 99) };
}

/** Every emit inside a request span that the sampler dropped. */
async function emitInUnsampledSpan(): Promise<Figures> {
  return trace.getTracer('bench').startActiveSpan('request', async (span) => {
    try {
      return await emitAll();
    } finally {
      span.end();
    }
  });
}

export default async function run() {
  console.log(`events-emit: ${EVENTS} events per subject and round, on a transport that acknowledges at once.`);
  return runBench({
    name: 'events-emit',
    unit: {
      emits_per_s: 'events/s emitted and acknowledged (higher is better)',
      p50_emit_ns: 'p50 duration of one emit() call, ns (lower is better)',
      p99_emit_ns: 'p99 duration of one emit() call, ns, every 16th call timed (lower is better)',
    },
    subjects: {
      backlot: () => emitAll(),
      'backlot-otel-off': withOpenTelemetry(false, () => emitAll()),
      'backlot-otel-unsampled-parent': withOpenTelemetry(false, emitInUnsampledSpan),
      'backlot-otel': withOpenTelemetry(true, () => emitAll()),
    },
    rounds: 5,
    warmup: 1,
  });
}
