import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { z } from 'zod';
import { NotFoundError } from '../errors.js';
import {
  assertValidKey,
  type CallOptions,
  DEFAULT_CONTENT_TYPE,
  normalizeMetadata,
  type ObjectBody,
  type ObjectInfo,
  type ObjectStore,
  type PutOptions,
  type StoredObject,
} from '../object-store.js';

/** Options of {@link createS3Store}. */
export interface S3StoreOptions {
  /** The bucket that holds the objects. */
  bucket: string;
  /**
   * A client of your own. When given, `endpoint`, `region`, `forcePathStyle`
   * and `credentials` are ignored.
   */
  client?: S3Client | undefined;
  /** Endpoint of an S3-compatible server, e.g. `http://127.0.0.1:9000`. */
  endpoint?: string | undefined;
  /** AWS region (default `us-east-1`). */
  region?: string | undefined;
  /** Address buckets by path (`/bucket/key`) instead of host; usual for S3-compatible servers. */
  forcePathStyle?: boolean | undefined;
  /** Static credentials; without them the AWS SDK's default provider chain is used. */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string | undefined } | undefined;
}

const optionsSchema = z.object({
  bucket: z
    .string({ error: 'bucket is required: the name of the bucket that holds the objects' })
    .min(3, 'bucket names are 3 to 63 characters long')
    .max(63, 'bucket names are 3 to 63 characters long'),
  client: z.instanceof(S3Client, { error: 'client must be an S3Client from @aws-sdk/client-s3' }).optional(),
  endpoint: z.url({ error: 'endpoint must be a URL such as http://127.0.0.1:9000' }).optional(),
  region: z.string().min(1, 'region must not be empty').optional(),
  forcePathStyle: z.boolean().optional(),
  credentials: z
    .object({
      accessKeyId: z.string().min(1, 'credentials.accessKeyId must not be empty'),
      secretAccessKey: z.string().min(1, 'credentials.secretAccessKey must not be empty'),
      sessionToken: z.string().optional(),
    })
    .optional(),
});

/** Per-call options for `client.send`, with the caller's signal when there is one. */
function sendOptions(options: CallOptions | undefined): { abortSignal?: AbortSignal } {
  return options?.signal ? { abortSignal: options.signal } : {};
}

function isMissing(error: unknown): boolean {
  return (
    error instanceof S3ServiceException &&
    (error.name === 'NoSuchKey' || error.name === 'NotFound' || error.$metadata.httpStatusCode === 404)
  );
}

/**
 * An {@link ObjectStore} on Amazon S3 or any S3-compatible server, through
 * `@aws-sdk/client-s3`. S3 errors are mapped to the package's typed errors.
 *
 * @example
 * ```ts
 * const store = createS3Store({
 *   bucket: 'play-events',
 *   endpoint: 'http://127.0.0.1:9000',
 *   forcePathStyle: true,
 *   credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
 * });
 * await store.put('hello.txt', 'hello', { contentType: 'text/plain' });
 * ```
 */
export function createS3Store(options: S3StoreOptions): ObjectStore {
  const parsed = optionsSchema.safeParse(options);
  if (!parsed.success) throw new TypeError(`createS3Store: ${z.prettifyError(parsed.error)}`);
  const { bucket, client: given, endpoint, region, forcePathStyle, credentials } = parsed.data;

  const client =
    given ??
    new S3Client({
      region: region ?? 'us-east-1',
      ...(endpoint ? { endpoint } : {}),
      ...(forcePathStyle !== undefined ? { forcePathStyle } : {}),
      ...(credentials
        ? {
            credentials: {
              accessKeyId: credentials.accessKeyId,
              secretAccessKey: credentials.secretAccessKey,
              ...(credentials.sessionToken ? { sessionToken: credentials.sessionToken } : {}),
            },
          }
        : {}),
    });

  const describe = (
    key: string,
    out: {
      ContentLength?: number | undefined;
      ETag?: string | undefined;
      LastModified?: Date | undefined;
      ContentType?: string | undefined;
      Metadata?: Record<string, string> | undefined;
    },
  ): ObjectInfo => ({
    key,
    size: out.ContentLength ?? 0,
    etag: out.ETag ?? '',
    lastModified: out.LastModified ?? new Date(0),
    contentType: out.ContentType ?? DEFAULT_CONTENT_TYPE,
    metadata: normalizeMetadata(out.Metadata),
  });

  const mapErrors = async <T>(key: string, call: () => Promise<T>): Promise<T> => {
    try {
      return await call();
    } catch (error) {
      if (isMissing(error)) throw new NotFoundError(key, { cause: error });
      throw error;
    }
  };

  return {
    async put(key: string, body: ObjectBody, options?: PutOptions): Promise<ObjectInfo> {
      assertValidKey(key);
      const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
      const contentType = options?.contentType ?? DEFAULT_CONTENT_TYPE;
      const metadata = normalizeMetadata(options?.metadata);
      const out = await client.send(
        new PutObjectCommand({ Bucket: bucket, Key: key, Body: bytes, ContentType: contentType, Metadata: metadata }),
        sendOptions(options),
      );
      // PutObject does not echo the object back: describe it from what was sent.
      return { key, size: bytes.byteLength, etag: out.ETag ?? '', lastModified: new Date(), contentType, metadata };
    },

    async get(key: string, options?: CallOptions): Promise<StoredObject> {
      assertValidKey(key);
      return mapErrors(key, async () => {
        const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }), sendOptions(options));
        const body = Buffer.from((await out.Body?.transformToByteArray()) ?? new Uint8Array());
        return { ...describe(key, out), size: body.byteLength, body };
      });
    },

    async head(key: string, options?: CallOptions): Promise<ObjectInfo> {
      assertValidKey(key);
      return mapErrors(key, async () =>
        describe(key, await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }), sendOptions(options))),
      );
    },

    async delete(key: string, options?: CallOptions): Promise<void> {
      assertValidKey(key);
      await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }), sendOptions(options));
    },
  };
}
