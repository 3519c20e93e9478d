import { afterEach, describe, expect, it } from 'vitest';
import { createS3Store, isBackendError, isStorageError, type S3Store } from '../src/index.js';
import { drain, rejection } from '../src/testing/index.js';
import { answeringServer, hungServer, midBodyServer, type RawServer } from './fixtures/raw-servers.js';

// The S3 adapter against raw TCP servers this test starts on 127.0.0.1: one that
// accepts and never answers, one that closes mid-body, one that stalls mid-body.
const servers: RawServer[] = [];
const stores: S3Store[] = [];
afterEach(async () => {
  for (const store of stores.splice(0)) store.destroy();
  for (const server of servers.splice(0)) await server.close();
});

function storeAt(server: RawServer, timeouts: { requestTimeoutMs?: number; socketTimeoutMs?: number } = {}): S3Store {
  servers.push(server);
  const store = createS3Store({
    bucket: 'fault-bucket',
    endpoint: server.endpoint,
    forcePathStyle: true,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    maxAttempts: 2,
    ...timeouts,
  });
  stores.push(store);
  return store;
}

function expectRetryableBackendError(error: unknown): void {
  expect(isStorageError(error), String(error)).toBe(true);
  expect(isBackendError(error)).toBe(true);
  expect(error).toMatchObject({ retryable: true });
}

describe('s3 store: deadlines against a server that never answers', () => {
  it('head, get, put, list and delete reject with a retryable BackendError naming the timeout', async () => {
    const server = await hungServer();
    const store = storeAt(server, { requestTimeoutMs: 300, socketTimeoutMs: 300 });
    for (const call of [
      () => store.head('k'),
      () => store.get('k'),
      () => store.getStream('k'),
      () => store.put('k', 'v'),
      () => store.listPage(),
      () => store.delete('k'),
    ]) {
      const error = await rejection(call());
      expectRetryableBackendError(error);
      expect(String(error)).toMatch(/timed out|timeout/i);
    }
    // Every attempt reached the server: the SDK retried the timed-out requests.
    expect(server.connections()).toBeGreaterThanOrEqual(6);
  });

  it('has a default deadline: a store built without timeout options still rejects', async () => {
    const server = await hungServer();
    servers.push(server);
    const store = createS3Store({
      bucket: 'fault-bucket',
      endpoint: server.endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      maxAttempts: 1,
    });
    stores.push(store);
    // The handler resolves its configuration on its first request.
    await rejection(store.head('k', { signal: AbortSignal.timeout(200) }));
    const handler = store.client.config.requestHandler as unknown as {
      httpHandlerConfigs(): { connectionTimeout?: number; requestTimeout?: number; socketTimeout?: number };
    };
    const config = handler.httpHandlerConfigs();
    expect(config.connectionTimeout).toBe(5_000);
    expect(config.requestTimeout).toBe(120_000);
    expect(config.socketTimeout).toBe(30_000);
  });
});

describe('s3 store: a server failing mid-body', () => {
  it('a reset mid-download fails the stream with a retryable StorageError, not a raw ECONNRESET', async () => {
    const store = storeAt(await midBodyServer({ declaredBytes: 1024 * 1024, sentBytes: 64 * 1024, after: 'close' }));
    const stream = await store.getStream('k');
    const error = await rejection(drain(stream.body));
    expectRetryableBackendError(error);
    expect((error as { cause?: { code?: string } }).cause).toBeDefined();

    const whole = await rejection(store.get('k'));
    expectRetryableBackendError(whole);
  });

  it('a server that goes silent mid-download fails the stream after socketTimeoutMs', async () => {
    const store = storeAt(await midBodyServer({ declaredBytes: 1024 * 1024, sentBytes: 64 * 1024, after: 'stall' }), {
      socketTimeoutMs: 300,
    });
    const stream = await store.getStream('k');
    const error = await rejection(drain(stream.body));
    expectRetryableBackendError(error);
    expect(String(error)).toMatch(/timed out|timeout/i);
  });

  it('the web stream of a failed download errors with the same typed error', async () => {
    const store = storeAt(await midBodyServer({ declaredBytes: 1024 * 1024, sentBytes: 64 * 1024, after: 'close' }));
    const stream = await store.getStream('k');
    const reader = stream.toWeb().getReader();
    const error = await rejection(
      (async () => {
        for (;;) if ((await reader.read()).done) return;
      })(),
    );
    expectRetryableBackendError(error);
  });
});

describe('s3 store: timeout options are validated', () => {
  it('rejects a zero, negative or non-integer timeout, and unknown options, naming the field', () => {
    expect(() => createS3Store({ bucket: 'ok-bucket', requestTimeoutMs: 0 })).toThrow(/requestTimeoutMs/);
    expect(() => createS3Store({ bucket: 'ok-bucket', socketTimeoutMs: -1 })).toThrow(/socketTimeoutMs/);
    expect(() => createS3Store({ bucket: 'ok-bucket', connectionTimeoutMs: 1.5 })).toThrow(/connectionTimeoutMs/);
    expect(() => createS3Store({ bucket: 'ok-bucket', timeout: 5 } as never)).toThrow(/timeout/);
  });
});

describe('s3 store: messages name the real cause', () => {
  const storeOn = (server: RawServer) => storeAt(server, { requestTimeoutMs: 2_000 });

  it('bad credentials: the message says so, on GET (error document) and on HEAD (no body)', async () => {
    const xml =
      '<?xml version="1.0" encoding="UTF-8"?><Error><Code>InvalidAccessKeyId</Code><Message>The AWS Access Key Id you provided does not exist in our records.</Message></Error>';
    const store = storeOn(await answeringServer(403, xml));
    for (const call of [() => store.get('k'), () => store.head('k')]) {
      const error = await rejection(call());
      expect(isBackendError(error), String(error)).toBe(true);
      expect(String(error)).not.toMatch(/UnknownError/);
      expect(String(error)).toMatch(/credentials/);
      expect(error).toMatchObject({ retryable: false, status: 403 });
    }
  });
});
