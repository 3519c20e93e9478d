import { randomUUID } from 'node:crypto';
import { SpanKind } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serviceEnv } from '../../../scripts/test-env.js';
import { tokenFor } from '../src/edge/demo-users.ts';
import { PLAY_TOPIC } from '../src/events.ts';
import { type Platform, type PlatformOptions, startPlatform } from '../src/platform.ts';
import { installTracing, renderTree, traceTree } from './support/otel.ts';

const modes: [string, () => PlatformOptions][] = [
  // With the dashboard: it shows the trace as a waterfall.
  ['embedded defaults', () => ({ admin: {} })],
  // The trace context crosses the real broker in the event's record headers.
  [
    'real mode: events through the Kafka broker',
    () => ({ kafkaBrokers: serviceEnv().kafkaBrokers, topic: `play-events-${randomUUID().slice(0, 8)}` }),
  ],
];

async function until<T>(find: () => T | undefined, what: string, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const found = find();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe.each(modes)('one Play request is one trace (%s)', (_mode, options) => {
  let tracing: ReturnType<typeof installTracing>;
  let platform: Platform;
  let topic: string;

  beforeAll(async () => {
    tracing = installTracing();
    const chosen = options();
    topic = chosen.topic ?? PLAY_TOPIC;
    platform = await startPlatform({ admin: false, ...chosen, canaryPercent: 0, traces: tracing.buffer });
  });
  afterAll(async () => {
    await platform?.close();
    await tracing?.stop();
  });

  it('gateway → Play API → commands → microservices → store, the events it emits and their processing by the stream processor', async () => {
    // On this shared machine a command may time out and the Play API answer 503 (shed): that play emits
    // nothing and is another trace; try again (the trace under test is the one that emitted playback.started).
    let status = 0;
    let answer = '';
    for (let attempt = 1; attempt <= 3 && status !== 200; attempt++) {
      const response = await fetch(`${platform.url}/play`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${await tokenFor('p-ada')}` },
        body: JSON.stringify({ profileId: 'p-ada', titleId: '80100172', device: 'tv' }),
      });
      status = response.status;
      answer = await response.text();
      if (status !== 503) break;
    }
    expect(status, answer).toBe(200);

    const spans = () => tracing.spans();
    const isStarted = (span: ReadableSpan) => span.attributes['backlot.event.name'] === 'playback.started';
    const emit = await until(
      () => spans().find((span) => span.name === `emit ${topic}` && isStarted(span)),
      'the playback.started emit span',
    );
    const traceId = emit.spanContext().traceId;
    const processed = await until(
      () => spans().find((span) => span.name === `process ${topic}` && isStarted(span)),
      'the stream processor to process playback.started',
    );
    const inTrace = spans().filter((span) => span.spanContext().traceId === traceId);
    const tree = traceTree(inTrace);
    const shown = `\n${renderTree(inTrace)}`;

    // One root: the gateway's server span of the client's request.
    const roots = tree.roots();
    expect(
      roots.map((span) => `${span.name} [${span.instrumentationScope.name}]`),
      shown,
    ).toEqual(['POST /play/* [@backlot/gateway]']);
    const gateway = roots[0] as ReadableSpan;
    expect(gateway.kind).toBe(SpanKind.SERVER);

    // The Play API's server span continues the gateway's trace (through the origin call's traceparent).
    const playApi = inTrace.find(
      (span) => span.instrumentationScope.name === 'backlot-service-http' && span.name === 'POST /play',
    );
    expect(playApi?.kind, shown).toBe(SpanKind.SERVER);
    expect(tree.ancestors(playApi as ReadableSpan)).toContain(gateway);

    // Each command of the Play API runs under its server span, each microservice call under its command,
    // and each microservice's own server span (and its store operations) under that call.
    // The gateway's origin attempt is a client span, child of the gateway's server span, and the Play API's
    // server span is its child (the origin's breaker, limit and timeout steps add no span of their own).
    const attempt = tree.parentOf(playApi as ReadableSpan);
    expect(attempt?.kind, shown).toBe(SpanKind.CLIENT);
    expect(attempt?.instrumentationScope.name, shown).toBe(gateway.instrumentationScope.name);
    expect(tree.ancestors(attempt as ReadableSpan), shown).toContain(gateway);
    const commands = inTrace.filter((span) => span.instrumentationScope.name === '@backlot/resilience');
    expect(commands.length, shown).toBeGreaterThanOrEqual(6);
    for (const command of commands) expect(tree.ancestors(command), shown).toContain(playApi);
    const services = ['subscriber', 'catalog', 'bookmarks', 'playback-decision', 'steering', 'license'];
    for (const service of services) {
      const call = inTrace.find((span) => span.kind === SpanKind.CLIENT && span.attributes['peer.service'] === service);
      expect(call, `${service} call${shown}`).toBeDefined();
      expect(commands, shown).toContain(tree.parentOf(call as ReadableSpan));
      const served = inTrace.filter((span) => span.kind === SpanKind.SERVER && tree.parentOf(span) === call);
      expect(served, `${service} server span${shown}`).toHaveLength(1);
    }
    const storeOperations = inTrace.filter((span) => span.instrumentationScope.name === '@backlot/storage');
    expect(storeOperations.length, shown).toBeGreaterThan(0);
    for (const operation of storeOperations) {
      expect(tree.ancestors(operation).some((span) => span.kind === SpanKind.SERVER)).toBe(true);
    }

    // The event the Play API emitted, and the stream processor's processing of it, in the same trace.
    expect(emit.kind).toBe(SpanKind.PRODUCER);
    expect(tree.ancestors(emit)).toContain(playApi);
    expect(processed.kind).toBe(SpanKind.CONSUMER);
    expect(processed.spanContext().traceId).toBe(traceId);
    expect(tree.parentOf(processed)).toBe(emit);

    // The dashboard's waterfall of the latest plays: this trace, its bars in start order, nested by depth.
    if (platform.admin) {
      const answer = (await (await fetch(`${platform.admin.url}/api/traces`)).json()) as {
        tracing: boolean;
        traces: { traceId: string; durationMs: number; spans: { name: string; depth: number; offsetMs: number }[] }[];
      };
      expect(answer.tracing).toBe(true);
      const waterfall = answer.traces.find((t) => t.traceId === traceId);
      expect(waterfall?.spans.length).toBe(inTrace.length);
      expect(waterfall?.spans[0]).toMatchObject({ name: 'POST /play/*', depth: 0, offsetMs: 0 });
      const offsets = waterfall?.spans.map((span) => span.offsetMs) ?? [];
      expect(offsets).toEqual([...offsets].sort((a, b) => a - b));
      const depthOf = (name: string) => waterfall?.spans.find((span) => span.name === name)?.depth ?? -1;
      expect(depthOf(`process ${topic}`)).toBe(depthOf(`emit ${topic}`) + 1);
      expect(depthOf(`emit ${topic}`)).toBeGreaterThan(depthOf('POST /play'));
    }
  });
});
