import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { Readable } from 'node:stream';
import { ListMultipartUploadsCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, describe, expect, it } from 'vitest';
import {
  type ConflictError,
  createS3Store,
  isBackendError,
  isConflictError,
  isNotFoundError,
  isPreconditionFailedError,
  S3_COMMAND_CHANNEL,
  type S3CommandMessage,
} from '../src/index.js';
import { failingBody, generatedBody, rejection } from '../src/testing/index.js';
import { client, dropBucket, freshBucket, serverOptions } from './s3-env.js';

// S3-specific behaviour, against the real S3-compatible server.
const MiB = 1024 * 1024;
afterAll(() => client.destroy());

type Handler = { handle(request: unknown, options?: unknown): Promise<{ response: unknown }> };
const realHandler = new S3Client(serverOptions).config.requestHandler as unknown as Handler;

/** A client whose transport answers with `fault` for the first `times` requests, then reaches the server. */
function faultyClient(fault: { status: number; code: string }, times: number, maxAttempts = 3): S3Client {
  let left = times;
  const requestHandler: Handler = {
    async handle(request, options) {
      if (left-- > 0) {
        const xml = `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${fault.code}</Code><Message>injected</Message></Error>`;
        return {
          response: {
            statusCode: fault.status,
            headers: { 'content-type': 'application/xml' },
            body: Readable.from([Buffer.from(xml)]),
          },
        };
      }
      return realHandler.handle(request, options);
    },
  };
  return new S3Client({ ...serverOptions, maxAttempts, requestHandler: requestHandler as never });
}

/** A client that records the headers of every request, by command. */
function recordingClient(): { client: S3Client; headers: { command: string; headers: Record<string, string> }[] } {
  const recorded: { command: string; headers: Record<string, string> }[] = [];
  const recording = new S3Client(serverOptions);
  recording.middlewareStack.add(
    (next, context) => async (args) => {
      const request = args.request as { headers?: Record<string, string> };
      recorded.push({ command: context.commandName ?? '', headers: { ...request.headers } });
      return next(args);
    },
    { step: 'finalizeRequest', name: 'recordHeaders' },
  );
  return { client: recording, headers: recorded };
}

async function pendingUploads(bucket: string): Promise<number> {
  const out = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
  return out.Uploads?.length ?? 0;
}

describe('s3 store: conditional headers reach S3 on both upload paths', () => {
  it('sends If-None-Match / If-Match on PutObject and on CompleteMultipartUpload', async () => {
    const { client: recording, headers } = recordingClient();
    const store = createS3Store({ bucket: await freshBucket(), client: recording, partSize: 5 * MiB });

    const small = await store.put('small', 'x', { ifNoneMatch: '*' });
    await store.put('small', 'y', { ifMatch: small.etag });
    await store.put('large', generatedBody(11 * MiB), { ifNoneMatch: '*' });
    const large = await store.head('large');
    await store.put('large', generatedBody(11 * MiB), { ifMatch: large.etag });

    const puts = headers.filter((h) => h.command === 'PutObjectCommand');
    expect(puts[0]?.headers['if-none-match']).toBe('*');
    expect(puts[1]?.headers['if-match']).toBe(small.etag);
    const completes = headers.filter((h) => h.command === 'CompleteMultipartUploadCommand');
    expect(completes).toHaveLength(2);
    expect(completes[0]?.headers['if-none-match']).toBe('*');
    expect(completes[1]?.headers['if-match']).toBe(large.etag);
    // Parts carry no condition: only the completion decides.
    for (const part of headers.filter((h) => h.command === 'UploadPartCommand')) {
      expect(part.headers['if-none-match']).toBeUndefined();
    }
    await dropBucket(store);
    recording.destroy();
  });
});

describe('s3 store: failed multipart uploads leave no parts behind', () => {
  it('aborts the upload when the body fails, and when the completion is refused', async () => {
    const bucket = await freshBucket();
    const store = createS3Store({ bucket, client, partSize: 5 * MiB });

    const parts = Array.from({ length: 12 }, () => Buffer.alloc(MiB, 7));
    expect(String(await rejection(store.put('broken', failingBody(parts, new Error('disk read failed')))))).toMatch(
      /disk read failed/,
    );
    expect(await pendingUploads(bucket)).toBe(0);

    await store.put('taken', 'x');
    expect(
      isPreconditionFailedError(await rejection(store.put('taken', generatedBody(11 * MiB), { ifNoneMatch: '*' }))),
    ).toBe(true);
    expect(await pendingUploads(bucket)).toBe(0);
    expect((await store.get('taken')).body.toString()).toBe('x');

    const controller = new AbortController();
    const body = generatedBody(64 * MiB, {
      onChunk: () => {
        if (!controller.signal.aborted && Math.random() < 0.2) controller.abort(new Error('stop'));
      },
    });
    await rejection(store.put('aborted', body, { signal: controller.signal }));
    expect(await pendingUploads(bucket)).toBe(0);
    await dropBucket(store);
  });
});

describe('s3 store: errors and retries', () => {
  it('counts the SDK retries in metrics and on the diagnostics channel', async () => {
    const faulty = faultyClient({ status: 503, code: 'SlowDown' }, 1);
    const store = createS3Store({ bucket: await freshBucket(), client: faulty });
    const messages: S3CommandMessage[] = [];
    const listener = (message: unknown) => messages.push(message as S3CommandMessage);
    subscribe(S3_COMMAND_CHANNEL, listener);
    try {
      await store.put('retried', 'eventually');
    } finally {
      unsubscribe(S3_COMMAND_CHANNEL, listener);
    }
    expect((await store.get('retried')).body.toString()).toBe('eventually');
    const metrics = store.metrics();
    expect(metrics.byCommand.PutObjectCommand).toMatchObject({ requests: 1, retries: 1, errors: 0 });
    expect(metrics.retries).toBe(1);
    expect(messages.find((m) => m.command === 'PutObjectCommand')).toMatchObject({ attempts: 2, status: 200 });
    await dropBucket(store);
    faulty.destroy();
  });

  it('maps 409 ConditionalRequestConflict to a retryable ConflictError, and exhausted 503s to a retryable BackendError', async () => {
    const bucket = await freshBucket();
    const conflicting = faultyClient({ status: 409, code: 'ConditionalRequestConflict' }, 10, 1);
    const conflict = await rejection(
      createS3Store({ bucket, client: conflicting }).put('k', 'v', { ifNoneMatch: '*' }),
    );
    expect(isConflictError(conflict)).toBe(true);
    expect((conflict as ConflictError).retryable).toBe(true);
    expect((conflict as ConflictError).key).toBe('k');

    const unavailable = faultyClient({ status: 503, code: 'SlowDown' }, 10, 2);
    const store = createS3Store({ bucket, client: unavailable });
    const backend = await rejection(store.head('k'));
    expect(isBackendError(backend)).toBe(true);
    expect(backend).toMatchObject({ retryable: true, status: 503 });
    expect(store.metrics().byCommand.HeadObjectCommand).toMatchObject({ requests: 1, retries: 1, errors: 1 });
    conflicting.destroy();
    unavailable.destroy();
  });

  it('a missing bucket is a BackendError that says so', async () => {
    const store = createS3Store({ bucket: 'no-such-bucket-here', client });
    const error = await rejection(store.put('k', 'v'));
    expect(isBackendError(error)).toBe(true);
    expect(String(error)).toMatch(/NoSuchBucket.*create the bucket first/);
  });
});

describe('s3 store: presigned URLs', () => {
  it('signs without checksum parameters, even for a client that computes checksums', async () => {
    const store = createS3Store({ bucket: await freshBucket(), client });
    const url = new URL(await store.presign('p.txt', { method: 'PUT' }));
    expect([...url.searchParams.keys()].filter((k) => /checksum/i.test(k))).toEqual([]);
    expect(url.searchParams.get('X-Amz-Expires')).toBe('900');
    await expect(store.presign('p.txt', { expiresIn: 0 })).rejects.toThrow(/expiresIn/);
    await dropBucket(store);
  });
});

describe('s3 store: a missing bucket is named as such', () => {
  it('head on a missing bucket is a BackendError NoSuchBucket, not "no object at key"', async () => {
    const store = createS3Store({ bucket: 'no-such-bucket-here', client });
    const error = await rejection(store.head('k'));
    expect(isBackendError(error), String(error)).toBe(true);
    expect(String(error)).toMatch(/NoSuchBucket.*create the bucket first/);
    // With the bucket there, a missing key is still a NotFoundError.
    const present = createS3Store({ bucket: await freshBucket(), client });
    expect(isNotFoundError(await rejection(present.head('missing')))).toBe(true);
    expect(isNotFoundError(await rejection(present.head('missing-too')))).toBe(true);
    await dropBucket(present);
  });
});
