import { randomBytes } from 'node:crypto';
import {
  type Attributes,
  type AttributeValue,
  type Context,
  context,
  isSpanContextValid,
  propagation,
  type Span,
  type SpanContext,
  SpanKind,
  type SpanOptions,
  type SpanStatus,
  SpanStatusCode,
  type TextMapPropagator,
  type Tracer,
  type TracerProvider,
  trace,
} from '@opentelemetry/api';
import { afterEach, describe, expect, it } from 'vitest';
import { echo, get, startGateway, startOrigin, until } from './helpers.js';

// ───────── a minimal tracer provider against the API's interfaces (no SDK is installed) ─────────

/** What an SDK's SpanProcessor sees: started and ended spans. */
interface SpanProcessor {
  onStart(span: RecordedSpan): void;
  onEnd(span: RecordedSpan): void;
}

class RecordedSpan implements Span {
  name: string;
  readonly kind: SpanKind;
  readonly attributes: Attributes = {};
  readonly parentSpanId: string | undefined;
  readonly exceptions: unknown[] = [];
  status: SpanStatus = { code: SpanStatusCode.UNSET };
  ended = false;
  readonly #context: SpanContext;
  readonly #processor: SpanProcessor;

  constructor(name: string, options: SpanOptions, parent: SpanContext | undefined, processor: SpanProcessor) {
    this.name = name;
    this.kind = options.kind ?? SpanKind.INTERNAL;
    Object.assign(this.attributes, options.attributes);
    this.parentSpanId = parent?.spanId;
    this.#context = {
      traceId: parent?.traceId ?? randomBytes(16).toString('hex'),
      spanId: randomBytes(8).toString('hex'),
      traceFlags: 1,
    };
    this.#processor = processor;
    processor.onStart(this);
  }
  spanContext(): SpanContext {
    return this.#context;
  }
  setAttribute(key: string, value: AttributeValue): this {
    this.attributes[key] = value;
    return this;
  }
  setAttributes(attributes: Attributes): this {
    Object.assign(this.attributes, attributes);
    return this;
  }
  addEvent(): this {
    return this;
  }
  addLink(): this {
    return this;
  }
  addLinks(): this {
    return this;
  }
  setStatus(status: SpanStatus): this {
    this.status = status;
    return this;
  }
  updateName(name: string): this {
    this.name = name;
    return this;
  }
  end(): void {
    if (this.ended) throw new Error(`span '${this.name}' ended twice`);
    this.ended = true;
    this.#processor.onEnd(this);
  }
  isRecording(): boolean {
    return !this.ended;
  }
  recordException(exception: unknown): void {
    this.exceptions.push(exception);
  }
}

class TestTracer implements Tracer {
  readonly #processor: SpanProcessor;
  constructor(processor: SpanProcessor) {
    this.#processor = processor;
  }
  startSpan(name: string, options: SpanOptions = {}, ctx: Context = context.active()): Span {
    const parent = options.root ? undefined : trace.getSpanContext(ctx);
    return new RecordedSpan(name, options, parent && isSpanContextValid(parent) ? parent : undefined, this.#processor);
  }
  startActiveSpan<F extends (span: Span) => unknown>(name: string, ...rest: unknown[]): ReturnType<F> {
    const fn = rest[rest.length - 1] as F;
    const options = (rest.length > 1 ? rest[0] : {}) as SpanOptions;
    const ctx = (rest.length > 2 ? rest[1] : context.active()) as Context;
    const span = this.startSpan(name, options, ctx);
    return context.with(trace.setSpan(ctx, span), () => fn(span)) as ReturnType<F>;
  }
}

function installTracing(): { ended: RecordedSpan[]; started: RecordedSpan[] } {
  const recorded = { ended: [] as RecordedSpan[], started: [] as RecordedSpan[] };
  const processor: SpanProcessor = {
    onStart: (span) => recorded.started.push(span),
    onEnd: (span) => recorded.ended.push(span),
  };
  const tracer = new TestTracer(processor);
  const provider: TracerProvider = { getTracer: () => tracer };
  expect(trace.setGlobalTracerProvider(provider)).toBe(true);
  return recorded;
}

/** A W3C `traceparent` propagator, as @opentelemetry/core's would be registered by an SDK. */
const w3cPropagator: TextMapPropagator = {
  inject(ctx, carrier, setter) {
    const span = trace.getSpanContext(ctx);
    if (!span || !isSpanContextValid(span)) return;
    setter.set(carrier, 'traceparent', `00-${span.traceId}-${span.spanId}-0${span.traceFlags & 1}`);
  },
  extract(ctx, carrier, getter) {
    const value = getter.get(carrier, 'traceparent');
    const match = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/.exec(String(value));
    if (!match) return ctx;
    return trace.setSpanContext(ctx, {
      traceId: match[1] as string,
      spanId: match[2] as string,
      traceFlags: Number.parseInt(match[3] as string, 16),
      isRemote: true,
    });
  },
  fields: () => ['traceparent'],
};

afterEach(() => {
  trace.disable();
  propagation.disable();
});

const byName = (spans: RecordedSpan[], name: string) => spans.find((span) => span.name === name) as RecordedSpan;

describe('OpenTelemetry spans', () => {
  it('records a server span per request with the filter phases and the origin call as children', async () => {
    const recorded = installTracing();
    const api = await startOrigin(echo);
    const [, base] = await startGateway({
      origins: { items: { servers: [api] } },
      filters: [{ type: 'requestId' }],
      routes: [{ id: 'items', pathPrefix: '/api', origin: 'items' }],
    });
    const response = await get(`${base}/api/items?page=2`, { headers: { 'user-agent': 'vitest' } });
    expect(response.status).toBe(200);
    await until(() => recorded.ended.some((span) => span.kind === SpanKind.SERVER));

    const server = recorded.ended.find((span) => span.kind === SpanKind.SERVER) as RecordedSpan;
    expect(server.name).toBe('GET /api/*');
    expect(server.parentSpanId).toBeUndefined();
    expect(server.attributes).toMatchObject({
      'http.request.method': 'GET',
      'http.route': '/api/*',
      'http.response.status_code': 200,
      'url.path': '/api/items',
      'url.query': 'page=2',
      'url.scheme': 'http',
      'server.address': '127.0.0.1',
      'client.address': '127.0.0.1',
      'user_agent.original': 'vitest',
      'backlot.gateway.route': 'items',
      'backlot.gateway.origin': 'items',
    });
    expect(server.status.code).toBe(SpanStatusCode.UNSET);

    const inbound = byName(recorded.ended, 'gateway.filters.inbound');
    const outbound = byName(recorded.ended, 'gateway.filters.outbound');
    const client = recorded.ended.find((span) => span.kind === SpanKind.CLIENT) as RecordedSpan;
    for (const child of [inbound, outbound, client]) {
      expect(child.parentSpanId).toBe(server.spanContext().spanId);
      expect(child.spanContext().traceId).toBe(server.spanContext().traceId);
    }
    expect(inbound.kind).toBe(SpanKind.INTERNAL);
    expect(client.name).toBe('GET');
    expect(client.attributes).toMatchObject({
      'http.request.method': 'GET',
      'http.response.status_code': 200,
      'server.address': '127.0.0.1',
      'url.full': `${api}/api/items?page=2`,
      'backlot.gateway.origin': 'items',
    });
    // Without a registered propagator, the requestId filter's traceparent is sent (the fallback).
    const seen = JSON.parse(response.text) as { headers: Record<string, string> };
    expect(seen.headers.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect(recorded.started.every((span) => span.ended)).toBe(true);
  });

  it('continues the caller trace and propagates the origin span through the registered propagator', async () => {
    const recorded = installTracing();
    propagation.setGlobalPropagator(w3cPropagator);
    const api = await startOrigin(echo);
    const [, base] = await startGateway({
      filters: [{ type: 'requestId' }],
      routes: [{ id: 'api', path: '/titles/:id', origin: api }],
    });
    const incoming = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const response = await get(`${base}/titles/80100172`, { headers: { traceparent: incoming } });
    await until(() => recorded.ended.some((span) => span.kind === SpanKind.SERVER));

    const server = recorded.ended.find((span) => span.kind === SpanKind.SERVER) as RecordedSpan;
    const client = recorded.ended.find((span) => span.kind === SpanKind.CLIENT) as RecordedSpan;
    expect(server.name).toBe('GET /titles/:id');
    expect(server.spanContext().traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(server.parentSpanId).toBe('00f067aa0ba902b7');
    expect(client.parentSpanId).toBe(server.spanContext().spanId);
    const seen = JSON.parse(response.text) as { headers: Record<string, string> };
    expect(seen.headers.traceparent).toBe(`00-4bf92f3577b34da6a3ce929d0e0e4736-${client.spanContext().spanId}-01`);
  });

  it('marks failed origin calls and 5xx answers as errors, one client span per attempt', async () => {
    const recorded = installTracing();
    const [, base] = await startGateway({
      origins: { down: { servers: ['http://127.0.0.1:1', 'http://127.0.0.2:1'], retry: { maxAttempts: 2 } } },
      routes: [{ id: 'down', pathPrefix: '/', origin: 'down' }],
    });
    expect((await get(`${base}/x`)).status).toBe(502);
    await until(() => recorded.ended.some((span) => span.kind === SpanKind.SERVER));
    const server = recorded.ended.find((span) => span.kind === SpanKind.SERVER) as RecordedSpan;
    expect(server.status.code).toBe(SpanStatusCode.ERROR);
    expect(server.attributes['error.type']).toBe('502');
    const attempts = recorded.ended.filter((span) => span.kind === SpanKind.CLIENT);
    expect(attempts).toHaveLength(2);
    expect(attempts[1]?.attributes['http.request.resend_count']).toBe(1);
    for (const attempt of attempts) {
      expect(attempt.status.code).toBe(SpanStatusCode.ERROR);
      expect(attempt.exceptions).toHaveLength(1);
      expect(attempt.parentSpanId).toBe(server.spanContext().spanId);
    }
  });

  it('traces WebSocket upgrades that filters refuse', async () => {
    const recorded = installTracing();
    const [, base] = await startGateway({
      routes: [
        {
          id: 'ws',
          pathPrefix: '/',
          origin: 'http://127.0.0.1:1',
          filters: [{ type: 'apiKey', keys: ['k-1234567890abcdef'] }],
        },
      ],
    });
    const ws = new WebSocket(`${base.replace(/^http/, 'ws')}/socket`);
    await new Promise((resolve) => ws.addEventListener('error', resolve, { once: true }));
    await until(() => recorded.ended.some((span) => span.kind === SpanKind.SERVER));
    const server = recorded.ended.find((span) => span.kind === SpanKind.SERVER) as RecordedSpan;
    expect(server.attributes['http.response.status_code']).toBe(401);
    expect(byName(recorded.ended, 'gateway.filters.inbound').parentSpanId).toBe(server.spanContext().spanId);
  });
});
