import { context, SpanStatusCode, TraceFlags, trace } from '@opentelemetry/api';
import { ParentBasedSampler, type Sampler, SamplingDecision } from '@opentelemetry/sdk-trace-base';
import { afterEach, describe, expect, it } from 'vitest';
import { activeTracer, defineCommand, RESILIENCE_TRACER_NAME } from '../src/index.js';
import { define, registry } from './helpers.js';
import { installTracing } from './otel.js';

let tracing: ReturnType<typeof installTracing> | undefined;
afterEach(async () => {
  await tracing?.stop();
  tracing = undefined;
});

describe('OpenTelemetry spans of command calls', () => {
  it('creates no span and no tracer without an SDK', async () => {
    expect(activeTracer(RESILIENCE_TRACER_NAME)).toBeUndefined();
    const command = defineCommand({ registry, key: 'plain', run: () => 1 });
    expect(await command()).toBe(1);
  });

  it('one span per call with outcome, attempt, fallback reason and circuit state; work nests under it', async () => {
    tracing = installTracing();
    let failing = true;
    const command = defineCommand({
      registry,
      key: 'catalog.get',
      group: 'catalog',
      retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 2, retryOn: () => true },
      run: async () => {
        // The command's own work: its span is the child of the call's span.
        const span = trace.getTracer('test').startSpan('origin');
        span.end();
        if (failing) throw new Error('down');
        return 'fresh';
      },
      fallback: () => 'cached',
    });
    expect(await command()).toBe('cached');
    failing = false;
    expect(await command()).toBe('fresh');

    const spans = tracing.spans();
    const calls = spans.filter((s) => s.name === 'command catalog.get');
    expect(calls).toHaveLength(2);
    expect(calls[0]?.attributes).toMatchObject({
      'backlot.command.key': 'catalog.get',
      'backlot.command.group': 'catalog',
      'backlot.command.outcome': 'fallback_success',
      'backlot.command.attempt': 2,
      'backlot.command.fallback_reason': 'failure',
      'backlot.command.circuit_state': 'closed',
    });
    expect(calls[1]?.attributes).toMatchObject({ 'backlot.command.outcome': 'success', 'backlot.command.attempt': 1 });
    expect(calls[1]?.attributes['backlot.command.fallback_reason']).toBeUndefined();
    expect(calls[0]?.instrumentationScope.name).toBe(RESILIENCE_TRACER_NAME);
    const origins = spans.filter((s) => s.name === 'origin');
    expect(origins).toHaveLength(3); // two attempts, then one success
    for (const origin of origins) {
      expect(calls.map((c) => c.spanContext().spanId)).toContain(origin.parentSpanContext?.spanId);
    }
  });

  it('sampled out: no span recorded, the work still runs in the unsampled context, results unchanged', async () => {
    // Roots are sampled unless they are command spans; children follow their parent.
    const rootSampler: Sampler = {
      shouldSample: (_context, _traceId, name) => ({
        decision: name.startsWith('command ') ? SamplingDecision.NOT_RECORD : SamplingDecision.RECORD_AND_SAMPLED,
      }),
      toString: () => 'commands-off',
    };
    tracing = installTracing(new ParentBasedSampler({ root: rootSampler }));
    let childSampled: boolean | undefined;
    const command = define({
      key: 'unsampled',
      run: async () => {
        const span = trace.getTracer('test').startSpan('origin');
        childSampled = span.isRecording();
        span.end();
        return 'ok';
      },
    });
    expect(await command()).toBe('ok');
    expect(childSampled).toBe(false); // the command's unsampled span is its parent: not a new root
    expect(tracing.spans()).toEqual([]);
    // Inside a trace already sampled out, the call makes no span; the work keeps the unsampled parent.
    childSampled = undefined;
    const unsampled = trace.wrapSpanContext({
      traceId: '0af7651916cd43dd8448eb211c80319c',
      spanId: 'b7ad6b7169203331',
      traceFlags: TraceFlags.NONE,
    });
    expect(await context.with(trace.setSpan(context.active(), unsampled), () => command())).toBe('ok');
    expect(childSampled).toBe(false);
    expect(tracing.spans()).toEqual([]);
  });

  it('marks failed calls: timeout, short-circuited and bad request are errors with their outcome', async () => {
    tracing = installTracing();
    const slow = defineCommand({
      registry,
      key: 'slow',
      timeoutMs: 5,
      run: (execution) => new Promise((resolve) => execution.signal.addEventListener('abort', resolve)),
    });
    await expect(slow()).rejects.toMatchObject({ code: 'BACKLOT_TIMEOUT' });
    slow.open();
    await expect(slow()).rejects.toMatchObject({ code: 'BACKLOT_CIRCUIT_OPEN' });
    const [timedOut, shorted] = tracing.spans().filter((s) => s.name === 'command slow');
    expect(timedOut?.attributes).toMatchObject({
      'backlot.command.outcome': 'timeout',
      'backlot.command.fallback_reason': 'timeout',
      'error.type': 'BACKLOT_TIMEOUT',
    });
    expect(timedOut?.status.code).toBe(SpanStatusCode.ERROR);
    expect(shorted?.attributes).toMatchObject({
      'backlot.command.outcome': 'short_circuited',
      'backlot.command.circuit_state': 'open',
    });
  });
});
