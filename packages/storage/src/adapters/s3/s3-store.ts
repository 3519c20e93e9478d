import { Readable, Transform } from 'node:stream';
import type { GetObjectCommandOutput, S3Client } from '@aws-sdk/client-s3';
import type { Upload } from '@aws-sdk/lib-storage';
import { z } from 'zod';
import { bytesOf, discard, toReadable } from '../../core/body.js';
import { assertValidKey } from '../../core/keys.js';
import { listAll, parseListOptions } from '../../core/list.js';
import { DEFAULT_CONTENT_TYPE, normalizeMetadata } from '../../core/metadata.js';
import { objectStream } from '../../core/object-stream.js';
import { assertRangeShape, rangeHeader } from '../../core/range.js';
import { throwIfAborted } from '../../core/signal.js';
import { withTypedErrors } from '../../core/typed-stream.js';
import type {
  CallOptions,
  CopyOptions,
  DeleteManyResult,
  GetOptions,
  ListedObject,
  ListOptions,
  ListPage,
  ListPageOptions,
  ObjectBody,
  ObjectInfo,
  ObjectStream,
  PresigningStore,
  PresignOptions,
  PutOptions,
  ReturnedRange,
  StoreCapabilities,
  StoredObject,
} from '../../core/types.js';
import {
  assertCopyOptions,
  assertPutOptions,
  copyAttributes,
  copyReplacesAttributes,
  headerAttributes,
  type ObjectAttributes,
  putAttributes,
} from '../../core/write-options.js';
import { BackendError, isNotFoundError, PreconditionFailedError } from '../../errors.js';
import { instrumentStore } from '../../observability/instrument.js';
import { mapS3Error } from './map-error.js';
import { instrumentClient, type S3StoreMetrics } from './metrics.js';
import { resolveS3Options, type S3StoreOptions } from './options.js';
import { s3Presigner, s3Sdk } from './sdk.js';

/** An {@link ObjectStore} on S3, with presigned URLs and request metrics. */
export interface S3Store extends PresigningStore {
  /** The client the store sends its commands with. */
  readonly client: S3Client;
  /** The bucket. */
  readonly bucket: string;
  /** Counters of the commands sent, including the SDK's retries. */
  metrics(): S3StoreMetrics;
  /** Destroys the clients the store created (not a client you passed in). */
  destroy(): void;
}

const capabilities: StoreCapabilities = Object.freeze({
  conditionalWrites: true,
  rangeReads: true,
  presign: true,
  multipart: true,
  streaming: true,
});

const presignSchema = z.object({
  method: z.enum(['GET', 'PUT'], { error: "method must be 'GET' or 'PUT'" }).optional(),
  expiresIn: z
    .number()
    .int('expiresIn must be a whole number of seconds')
    .min(1, 'expiresIn must be at least 1 second')
    .max(604_800, 'expiresIn must be at most 604800 seconds (7 days), the S3 limit')
    .optional(),
  contentType: z.string().optional(),
});

/** The S3 request fields of an object's attributes. */
function attributeParams(attributes: ObjectAttributes) {
  return {
    ContentType: attributes.contentType,
    ...(Object.keys(attributes.metadata).length > 0 ? { Metadata: attributes.metadata } : {}),
    ...(attributes.cacheControl !== undefined ? { CacheControl: attributes.cacheControl } : {}),
    ...(attributes.contentDisposition !== undefined ? { ContentDisposition: attributes.contentDisposition } : {}),
    ...(attributes.contentEncoding !== undefined ? { ContentEncoding: attributes.contentEncoding } : {}),
  };
}

function conditionOf(options: { ifMatch?: string | undefined; ifNoneMatch?: '*' | undefined }): string | undefined {
  if (options.ifNoneMatch) return 'If-None-Match: *';
  if (options.ifMatch) return `If-Match: ${options.ifMatch}`;
  return undefined;
}

/** `bytes 0-9/100` → 100. */
function totalFromContentRange(contentRange: string | undefined): number | undefined {
  const total = contentRange?.split('/')[1];
  return total && total !== '*' ? Number(total) : undefined;
}

/** Copy-source header value: bucket and URL-encoded key. */
function copySource(bucket: string, key: string): string {
  return `${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;
}

/** Counts the bytes that pass through, without copying them. */
function counter(): Transform & { bytes: number } {
  const transform = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      (transform as Transform & { bytes: number }).bytes += chunk.byteLength;
      callback(null, chunk);
    },
  }) as Transform & { bytes: number };
  transform.bytes = 0;
  return transform;
}

/**
 * An {@link ObjectStore} on Amazon S3 or any S3-compatible server, through
 * `@aws-sdk/client-s3`: streams both ways, multipart uploads for large or
 * unknown-length bodies (lib-storage's `Upload`, aborted on failure),
 * conditional writes on PutObject and CompleteMultipartUpload, presigned URLs,
 * and S3 errors mapped to the package's typed errors.
 *
 * @example
 * ```ts
 * const store = createS3Store({
 *   bucket: 'play-events',
 *   endpoint: 'http://127.0.0.1:9000',
 *   forcePathStyle: true,
 *   credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
 * });
 * await store.put('hello.txt', 'hello', { contentType: 'text/plain', ifNoneMatch: '*' });
 * ```
 */
export function createS3Store(options: S3StoreOptions): S3Store {
  const { bucket, client, presignClient, partSize, queueSize, multipartThreshold, ownsClient } =
    resolveS3Options(options);
  const {
    CopyObjectCommand,
    DeleteObjectCommand,
    DeleteObjectsCommand,
    GetObjectCommand,
    HeadBucketCommand,
    HeadObjectCommand,
    ListObjectsV2Command,
    PutObjectCommand,
  } = s3Sdk().s3;
  const { Upload: MultipartUpload } = s3Sdk().storage;
  const metrics = instrumentClient(client);
  let presignerUsed = false;
  /** Set once a HEAD 404 was checked against the bucket: the bucket exists. */
  let bucketSeen = false;

  /**
   * A HEAD 404 has no error document, so a missing bucket looks like a missing
   * key: check the bucket once (then remember it exists) to name the real cause.
   */
  const explainNotFound = async (error: unknown, signal: AbortSignal | undefined): Promise<unknown> => {
    if (bucketSeen || !isNotFoundError(error)) return error;
    try {
      await send(new HeadBucketCommand({ Bucket: bucket }), signal);
      bucketSeen = true;
      return error;
    } catch (cause) {
      const status = (cause as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if (status !== 404) return error;
      return new BackendError(
        `S3 NoSuchBucket (404) on key '${(error as { key: string }).key}': the bucket '${bucket}' does not exist (create the bucket first, or check the bucket option)`,
        { cause, retryable: false, status: 'NoSuchBucket' },
      );
    }
  };

  const rawSend = client.send as unknown as (
    command: object,
    options: { abortSignal?: AbortSignal },
  ) => Promise<unknown>;
  const send = <T>(command: object, signal: AbortSignal | undefined) =>
    rawSend.call(client, command, signal ? { abortSignal: signal } : {}) as Promise<T>;

  const describe = (
    key: string,
    out: {
      ContentLength?: number | undefined;
      ETag?: string | undefined;
      LastModified?: Date | undefined;
      ContentType?: string | undefined;
      Metadata?: Record<string, string> | undefined;
      CacheControl?: string | undefined;
      ContentDisposition?: string | undefined;
      ContentEncoding?: string | undefined;
    },
  ): ObjectInfo => ({
    key,
    size: out.ContentLength ?? 0,
    etag: out.ETag ?? '',
    lastModified: out.LastModified ?? new Date(0),
    contentType: out.ContentType ?? DEFAULT_CONTENT_TYPE,
    metadata: normalizeMetadata(out.Metadata),
    ...headerAttributes({
      cacheControl: out.CacheControl,
      contentDisposition: out.ContentDisposition,
      contentEncoding: out.ContentEncoding,
    }),
  });

  const getObject = async (
    key: string,
    options: GetOptions | undefined,
  ): Promise<{ info: ObjectInfo; out: GetObjectCommandOutput; range?: ReturnedRange }> => {
    throwIfAborted(options?.signal);
    assertValidKey(key);
    assertRangeShape(key, options?.range);
    try {
      const out = await send<GetObjectCommandOutput>(
        new GetObjectCommand({
          Bucket: bucket,
          Key: key,
          ...(options?.range ? { Range: rangeHeader(options.range) } : {}),
          ...(options?.ifMatch ? { IfMatch: options.ifMatch } : {}),
        }),
        options?.signal,
      );
      const info = describe(key, out);
      if (!options?.range) return { info, out };
      const length = out.ContentLength ?? 0;
      info.size = totalFromContentRange(out.ContentRange) ?? length;
      return { info, out, range: { offset: options.range.offset, length } };
    } catch (error) {
      throw mapS3Error(error, {
        key,
        condition: options?.ifMatch ? `If-Match: ${options.ifMatch}` : undefined,
        signal: options?.signal,
      });
    }
  };

  const upload = async (source: Readable, params: Record<string, unknown>, options: PutOptions | undefined) => {
    const count = counter();
    const body = source.pipe(count);
    source.once('error', (error) => count.destroy(error));
    const onAbort = () => source.destroy(options?.signal?.reason);
    options?.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const task = new MultipartUpload({
        client,
        params: {
          ...params,
          Body: body,
          ...(options?.contentLength !== undefined ? { ContentLength: options.contentLength } : {}),
        } as unknown as ConstructorParameters<typeof Upload>[0]['params'],
        // At most 10,000 parts: a known length may need larger ones.
        partSize:
          options?.contentLength !== undefined
            ? Math.max(partSize, Math.ceil(options.contentLength / 10_000))
            : partSize,
        queueSize,
        // A failed upload is aborted: no orphan parts are left behind.
        leavePartsOnError: false,
      });
      const out = await task.done();
      return { etag: out.ETag ?? '', size: count.bytes };
    } finally {
      options?.signal?.removeEventListener('abort', onAbort);
    }
  };

  const store: S3Store = {
    adapter: 's3',
    capabilities,
    client,
    bucket,
    metrics,

    destroy() {
      if (ownsClient) client.destroy();
      if (presignerUsed) presignClient().destroy();
    },

    async put(key: string, body: ObjectBody, options?: PutOptions): Promise<ObjectInfo> {
      try {
        throwIfAborted(options?.signal);
        assertValidKey(key);
        assertPutOptions(key, options);
      } catch (error) {
        discard(body, error);
        throw error;
      }
      const attributes = putAttributes(options);
      const params = {
        Bucket: bucket,
        Key: key,
        ...attributeParams(attributes),
        ...(options?.ifNoneMatch ? { IfNoneMatch: options.ifNoneMatch } : {}),
        ...(options?.ifMatch ? { IfMatch: options.ifMatch } : {}),
      };
      const bytes = bytesOf(body);
      try {
        let written: { etag: string; size: number };
        if (bytes && bytes.byteLength <= multipartThreshold) {
          const out = await send<{ ETag?: string }>(
            new PutObjectCommand({ ...params, Body: bytes, ContentLength: bytes.byteLength }),
            options?.signal,
          );
          written = { etag: out.ETag ?? '', size: bytes.byteLength };
        } else {
          written = await upload(toReadable(body), params, options);
        }
        // PutObject does not echo the object back: describe it from what was sent.
        return { key, size: written.size, etag: written.etag, lastModified: new Date(), ...attributes };
      } catch (error) {
        throw mapS3Error(error, { key, condition: conditionOf(options ?? {}), signal: options?.signal });
      }
    },

    async get(key: string, options?: GetOptions): Promise<StoredObject> {
      const { info, out, range } = await getObject(key, options);
      try {
        const body = Buffer.from((await out.Body?.transformToByteArray()) ?? new Uint8Array());
        return { ...info, body, ...(range ? { range } : {}) };
      } catch (error) {
        throw mapS3Error(error, { key, signal: options?.signal });
      }
    },

    async getStream(key: string, options?: GetOptions): Promise<ObjectStream> {
      const { info, out, range } = await getObject(key, options);
      const raw = out.Body instanceof Readable ? out.Body : Readable.from([]);
      // A connection reset or a silent server mid-body fails the stream with a typed, retryable error.
      const body = withTypedErrors(raw, (error) => mapS3Error(error, { key, signal: options?.signal }));
      return objectStream(info, body, range);
    },

    async head(key: string, options?: CallOptions): Promise<ObjectInfo> {
      throwIfAborted(options?.signal);
      assertValidKey(key);
      try {
        return describe(key, await send(new HeadObjectCommand({ Bucket: bucket, Key: key }), options?.signal));
      } catch (error) {
        throw await explainNotFound(mapS3Error(error, { key, signal: options?.signal }), options?.signal);
      }
    },

    async delete(key: string, options?: CallOptions): Promise<void> {
      throwIfAborted(options?.signal);
      assertValidKey(key);
      try {
        await send(new DeleteObjectCommand({ Bucket: bucket, Key: key }), options?.signal);
      } catch (error) {
        throw mapS3Error(error, { key, signal: options?.signal });
      }
    },

    async deleteMany(keys: Iterable<string> | AsyncIterable<string>, options?: CallOptions): Promise<DeleteManyResult> {
      throwIfAborted(options?.signal);
      const result: DeleteManyResult = { deleted: 0, failed: [] };
      let batch: string[] = [];
      const flush = async () => {
        if (batch.length === 0) return;
        const keysOfBatch = batch;
        batch = [];
        try {
          const out = await send<{ Errors?: { Key?: string; Code?: string; Message?: string }[] }>(
            new DeleteObjectsCommand({
              Bucket: bucket,
              Delete: { Objects: keysOfBatch.map((Key) => ({ Key })), Quiet: true },
            }),
            options?.signal,
          );
          const failed = (out.Errors ?? []).map((e) => ({
            key: e.Key ?? '',
            code: e.Code ?? 'Error',
            message: e.Message ?? '',
          }));
          result.failed.push(...failed);
          result.deleted += keysOfBatch.length - failed.length;
        } catch (error) {
          throw mapS3Error(error, { key: keysOfBatch[0] ?? '', signal: options?.signal });
        }
      };
      for await (const key of keys) {
        assertValidKey(key);
        batch.push(key);
        if (batch.length === 1000) await flush();
      }
      await flush();
      return result;
    },

    list(options?: ListOptions) {
      parseListOptions(options);
      return listAll((page) => store.listPage(page), options);
    },

    async listPage(options?: ListPageOptions): Promise<ListPage> {
      throwIfAborted(options?.signal);
      const { prefix, delimiter, startAfter, pageSize, cursor, signal } = parseListOptions(options);
      try {
        const out = await send<{
          Contents?: { Key?: string; Size?: number; ETag?: string; LastModified?: Date }[];
          CommonPrefixes?: { Prefix?: string }[];
          IsTruncated?: boolean;
          NextContinuationToken?: string;
        }>(
          new ListObjectsV2Command({
            Bucket: bucket,
            ...(prefix ? { Prefix: prefix } : {}),
            ...(delimiter ? { Delimiter: delimiter } : {}),
            ...(startAfter ? { StartAfter: startAfter } : {}),
            ...(cursor ? { ContinuationToken: cursor } : {}),
            MaxKeys: pageSize ?? 1000,
          }),
          signal,
        );
        const objects: ListedObject[] = (out.Contents ?? []).map((o) => ({
          key: o.Key ?? '',
          size: o.Size ?? 0,
          etag: o.ETag ?? '',
          lastModified: o.LastModified ?? new Date(0),
        }));
        const prefixes = (out.CommonPrefixes ?? []).map((p) => p.Prefix ?? '');
        return {
          objects,
          prefixes,
          ...(out.IsTruncated && out.NextContinuationToken ? { cursor: out.NextContinuationToken } : {}),
        };
      } catch (error) {
        throw mapS3Error(error, { key: prefix ?? '', signal });
      }
    },

    async copy(source: string, destination: string, options?: CopyOptions): Promise<ObjectInfo> {
      throwIfAborted(options?.signal);
      assertValidKey(source);
      assertValidKey(destination);
      assertCopyOptions(destination, options);
      // The source's description gives the copy's size, content type and metadata.
      const from = await store.head(source, options);
      if (options?.sourceIfMatch !== undefined && options.sourceIfMatch !== from.etag) {
        throw new PreconditionFailedError(source, `x-amz-copy-source-if-match: ${options.sourceIfMatch}`);
      }
      // Replacing any attribute replaces them all on S3: send the source's for those not given.
      const attributes = copyAttributes(from, options);
      const replace = copyReplacesAttributes(options);
      try {
        const out = await send<{ CopyObjectResult?: { ETag?: string; LastModified?: Date } }>(
          new CopyObjectCommand({
            Bucket: bucket,
            Key: destination,
            CopySource: copySource(bucket, source),
            ...(options?.sourceIfMatch ? { CopySourceIfMatch: options.sourceIfMatch } : {}),
            ...(options?.ifMatch ? { IfMatch: options.ifMatch } : {}),
            ...(options?.ifNoneMatch ? { IfNoneMatch: options.ifNoneMatch } : {}),
            ...(replace
              ? { MetadataDirective: 'REPLACE' as const, ...attributeParams(attributes), Metadata: attributes.metadata }
              : { MetadataDirective: 'COPY' as const }),
          }),
          options?.signal,
        );
        return {
          key: destination,
          size: from.size,
          etag: out.CopyObjectResult?.ETag ?? '',
          lastModified: out.CopyObjectResult?.LastModified ?? new Date(),
          ...attributes,
        };
      } catch (error) {
        throw mapS3Error(error, { key: destination, condition: conditionOf(options ?? {}), signal: options?.signal });
      }
    },

    async presign(key: string, options?: PresignOptions): Promise<string> {
      assertValidKey(key);
      const parsed = presignSchema.safeParse(options ?? {});
      if (!parsed.success) throw new TypeError(`presign: ${z.prettifyError(parsed.error)}`);
      const { method = 'GET', expiresIn = 900, contentType } = parsed.data;
      const command =
        method === 'PUT'
          ? new PutObjectCommand({ Bucket: bucket, Key: key, ...(contentType ? { ContentType: contentType } : {}) })
          : new GetObjectCommand({ Bucket: bucket, Key: key });
      // Loaded on first use: services that never presign do not pay for (or install) the presigner.
      const { getSignedUrl } = s3Presigner();
      presignerUsed = true;
      return getSignedUrl(presignClient(), command, { expiresIn });
    },
  };
  return instrumentStore(store);
}
