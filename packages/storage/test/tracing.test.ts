import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { AlwaysOnSampler, ParentBasedSampler } from '@opentelemetry/sdk-trace-base';
import { afterEach, describe, expect, it } from 'vitest';
import { installTracing } from '../../resilience/test/otel.js';
import {
  createMemoryStore,
  createS3Store,
  isNotFoundError,
  STORAGE_OPERATION_CHANNEL,
  type StorageOperationMessage,
} from '../src/index.js';
import { dropBucket, freshBucket, serverOptions } from './s3-env.js';

let tracing: ReturnType<typeof installTracing> | undefined;
afterEach(async () => {
  await tracing?.stop();
  tracing = undefined;
});

describe('OpenTelemetry spans and diagnostics channel of store operations', () => {
  it('one client span per operation, child of the active span, on real S3 and memory', async () => {
    tracing = installTracing();
    const s3 = createS3Store({ ...serverOptions, bucket: await freshBucket() });
    const memory = createMemoryStore();
    let requestId = '';
    await trace.getTracer('test').startActiveSpan('request', async (request) => {
      requestId = request.spanContext().spanId;
      for (const store of [s3, memory]) {
        await store.put('k', 'v');
        await expect(store.get('missing')).rejects.toSatisfy(isNotFoundError);
      }
      request.end();
    });
    const spans = tracing.spans().filter((s) => s.name.startsWith('storage.'));
    for (const store of ['s3', 'memory']) {
      const put = spans.find((s) => s.attributes['backlot.storage.store'] === store && s.name === 'storage.put');
      expect(put?.kind).toBe(SpanKind.CLIENT);
      expect(put?.attributes).toMatchObject({
        'backlot.storage.operation': 'put',
        'backlot.storage.key': 'k',
        'backlot.storage.outcome': 'success',
      });
      expect(put?.parentSpanContext?.spanId).toBe(requestId);
      const miss = spans.find((s) => s.attributes['backlot.storage.store'] === store && s.name === 'storage.get');
      expect(miss?.attributes['backlot.storage.outcome']).toBe('not_found');
      expect(miss?.attributes['error.type']).toBe('BACKLOT_STORAGE_NOT_FOUND');
      expect(miss?.status.code).toBe(SpanStatusCode.ERROR);
    }
    await dropBucket(s3);
    s3.destroy();
  });

  it('inside a sampled-out trace: no span, and the adapter runs in that unsampled context', async () => {
    // Parent-based, sampling every root: only the dropped parent keeps the operations' spans out.
    const sdk = installTracing(new ParentBasedSampler({ root: new AlwaysOnSampler() }));
    tracing = sdk;
    const store = createMemoryStore();
    const dropped = trace.wrapSpanContext({
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      spanId: '00f067aa0ba902b7',
      traceFlags: 0,
      isRemote: true,
    });
    await context.with(trace.setSpan(context.active(), dropped), async () => {
      await store.put('k', 'v');
      await expect(store.get('missing')).rejects.toSatisfy(isNotFoundError);
    });
    expect(sdk.spans()).toEqual([]);
    await store.put('k2', 'v'); // outside it, a root: sampled
    expect(sdk.spans().map((span) => span.name)).toEqual(['storage.put']);
  });

  it('publishes each operation on the tracing channel when subscribed', async () => {
    const seen: string[] = [];
    const onStart = (message: unknown) => {
      const { store, operation, key } = message as StorageOperationMessage;
      seen.push(`${store}:${operation}:${key ?? ''}`);
    };
    const onError = (message: unknown) => seen.push(`error:${(message as { error: { code: string } }).error.code}`);
    subscribe(`tracing:${STORAGE_OPERATION_CHANNEL}:start`, onStart);
    subscribe(`tracing:${STORAGE_OPERATION_CHANNEL}:error`, onError);
    try {
      const store = createMemoryStore();
      await store.put('a', 'b');
      await store.get('nope').catch(() => undefined);
    } finally {
      unsubscribe(`tracing:${STORAGE_OPERATION_CHANNEL}:start`, onStart);
      unsubscribe(`tracing:${STORAGE_OPERATION_CHANNEL}:error`, onError);
    }
    expect(seen).toEqual(['memory:put:a', 'memory:get:nope', 'error:BACKLOT_STORAGE_NOT_FOUND']);
  });
});
