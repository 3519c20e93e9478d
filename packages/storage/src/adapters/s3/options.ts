import type { S3Client, S3ClientConfig } from '@aws-sdk/client-s3';
import { z } from 'zod';
import { s3Sdk } from './sdk.js';

/** Smallest multipart part S3 accepts (except the last one). */
export const MIN_PART_SIZE = 5 * 1024 * 1024;

/** Options of {@link createS3Store}. */
export interface S3StoreOptions {
  /** The bucket that holds the objects (required; it must exist). */
  bucket: string;
  /**
   * A client of your own. When given, `endpoint`, `region`, `forcePathStyle`,
   * `credentials`, `checksums` and `maxAttempts` are ignored. The store adds a
   * metrics middleware to it.
   */
  client?: S3Client | undefined;
  /** Endpoint of an S3-compatible server, e.g. `http://127.0.0.1:9000` (default: AWS). */
  endpoint?: string | undefined;
  /** AWS region (default `us-east-1`). */
  region?: string | undefined;
  /** Address buckets by path (`/bucket/key`) instead of host; usual for S3-compatible servers (default `false`). */
  forcePathStyle?: boolean | undefined;
  /** Static credentials; without them the AWS SDK's default provider chain is used. */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string | undefined } | undefined;
  /**
   * Request and response checksums: `when-supported` (the SDK's default since
   * 3.729: CRC32 on every upload) or `when-required` (only where the API needs
   * one; use it for S3-compatible servers that reject the new checksum headers).
   * Default `when-supported`. Presigned URLs are always signed `when-required`.
   */
  checksums?: 'when-supported' | 'when-required' | undefined;
  /** Attempts per request, first one included, by the SDK's standard retry strategy (default 3). */
  maxAttempts?: number | undefined;
  /** Multipart part size in bytes, at least 5 MiB (default 5 MiB, lib-storage's). Raised when `contentLength` needs more than 10,000 parts; unknown-length bodies can be up to `partSize × 10000`. */
  partSize?: number | undefined;
  /** Parts uploaded in parallel per multipart upload (default 4). Memory use is about `partSize × (queueSize + 1)`. */
  queueSize?: number | undefined;
  /** In-memory bodies larger than this go up as multipart uploads (default: `partSize`). Streams always use lib-storage. */
  multipartThreshold?: number | undefined;
  /**
   * Most time to open a connection to the server, ms (default 5000). A timeout
   * is a retryable `BackendError` (after the SDK's `maxAttempts`). Ignored with `client`.
   */
  connectionTimeoutMs?: number | undefined;
  /**
   * Most time from sending a request (its body included) to the response's
   * headers, ms (default 120000). Bounds a server that accepts a request and
   * never answers it. Ignored with `client`.
   */
  requestTimeoutMs?: number | undefined;
  /**
   * Most time a connection may stay silent while a request or a response body
   * is under way, ms (default 30000): a server that stops sending mid-body fails
   * the stream with a retryable `BackendError` instead of stalling it. Ignored with `client`.
   */
  socketTimeoutMs?: number | undefined;
}

/** Default of {@link S3StoreOptions.connectionTimeoutMs}. */
export const DEFAULT_CONNECTION_TIMEOUT_MS = 5_000;
/** Default of {@link S3StoreOptions.requestTimeoutMs}. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 120_000;
/** Default of {@link S3StoreOptions.socketTimeoutMs}. */
export const DEFAULT_SOCKET_TIMEOUT_MS = 30_000;

const timeout = (field: string) =>
  z
    .number({ error: `${field} must be a number of milliseconds` })
    .int(`${field} must be a whole number of milliseconds`)
    .min(1, `${field} must be at least 1 ms (timeouts cannot be turned off)`)
    .max(2_147_483_647, `${field} must be at most 2147483647 ms`)
    .optional();

const optionsSchema = z.strictObject({
  bucket: z
    .string({ error: 'bucket is required: the name of the bucket that holds the objects' })
    .min(3, 'bucket names are 3 to 63 characters long')
    .max(63, 'bucket names are 3 to 63 characters long'),
  client: z
    .custom<S3Client>((value) => value instanceof s3Sdk().s3.S3Client, {
      error: 'client must be an S3Client from @aws-sdk/client-s3',
    })
    .optional(),
  endpoint: z.url({ error: 'endpoint must be a URL such as http://127.0.0.1:9000' }).optional(),
  region: z.string().min(1, 'region must not be empty').optional(),
  forcePathStyle: z.boolean({ error: 'forcePathStyle must be true or false' }).optional(),
  credentials: z
    .object({
      accessKeyId: z.string().min(1, 'credentials.accessKeyId must not be empty'),
      secretAccessKey: z.string().min(1, 'credentials.secretAccessKey must not be empty'),
      sessionToken: z.string().optional(),
    })
    .optional(),
  checksums: z
    .enum(['when-supported', 'when-required'], { error: "checksums must be 'when-supported' or 'when-required'" })
    .optional(),
  maxAttempts: z
    .number()
    .int('maxAttempts must be an integer')
    .min(1, 'maxAttempts must be at least 1 (1 = no retries)')
    .optional(),
  partSize: z
    .number()
    .int('partSize must be an integer number of bytes')
    .min(MIN_PART_SIZE, 'partSize must be at least 5 MiB (5242880), the S3 minimum')
    .optional(),
  queueSize: z.number().int('queueSize must be an integer').min(1, 'queueSize must be at least 1').optional(),
  multipartThreshold: z
    .number()
    .int('multipartThreshold must be an integer number of bytes')
    .min(1, 'multipartThreshold must be positive')
    .optional(),
  connectionTimeoutMs: timeout('connectionTimeoutMs'),
  requestTimeoutMs: timeout('requestTimeoutMs'),
  socketTimeoutMs: timeout('socketTimeoutMs'),
});

/** The options with defaults applied. */
export interface ResolvedS3Options {
  bucket: string;
  client: S3Client;
  /** Builds (once, on first use) a client that signs URLs without checksum parameters. */
  presignClient: () => S3Client;
  partSize: number;
  queueSize: number;
  multipartThreshold: number;
  /** True when the store created its clients (and may destroy them). */
  ownsClient: boolean;
}

/** The settings of a user's client that a presigning twin needs (region, credentials, endpoint, addressing). */
function presignConfigOf(client: S3Client): S3ClientConfig {
  const config = client.config as unknown as {
    region: S3ClientConfig['region'];
    credentials?: S3ClientConfig['credentials'];
    endpoint?: S3ClientConfig['endpoint'];
    forcePathStyle?: boolean;
    isCustomEndpoint?: boolean;
  };
  return {
    ...(config.region ? { region: config.region } : {}),
    ...(config.credentials ? { credentials: config.credentials } : {}),
    ...(config.isCustomEndpoint && config.endpoint ? { endpoint: config.endpoint } : {}),
    ...(config.forcePathStyle !== undefined ? { forcePathStyle: config.forcePathStyle } : {}),
  };
}

/** Validates options at the boundary and builds the clients. @throws {TypeError} naming the field and the fix. */
export function resolveS3Options(options: S3StoreOptions): ResolvedS3Options {
  const parsed = optionsSchema.safeParse(options);
  if (!parsed.success) throw new TypeError(`createS3Store: ${z.prettifyError(parsed.error)}`);
  const { bucket, client: given, endpoint, region, forcePathStyle, credentials, checksums, maxAttempts } = parsed.data;
  const partSize = parsed.data.partSize ?? MIN_PART_SIZE;

  const base = {
    region: region ?? 'us-east-1',
    ...(endpoint ? { endpoint } : {}),
    ...(forcePathStyle !== undefined ? { forcePathStyle } : {}),
    ...(maxAttempts !== undefined ? { maxAttempts } : {}),
    // The SDK's node handler, with deadlines: its own defaults wait forever.
    requestHandler: {
      connectionTimeout: parsed.data.connectionTimeoutMs ?? DEFAULT_CONNECTION_TIMEOUT_MS,
      requestTimeout: parsed.data.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
      throwOnRequestTimeout: true,
      socketTimeout: parsed.data.socketTimeoutMs ?? DEFAULT_SOCKET_TIMEOUT_MS,
    },
    ...(credentials
      ? {
          credentials: {
            accessKeyId: credentials.accessKeyId,
            secretAccessKey: credentials.secretAccessKey,
            ...(credentials.sessionToken ? { sessionToken: credentials.sessionToken } : {}),
          },
        }
      : {}),
  };
  const mode = checksums === 'when-required' ? 'WHEN_REQUIRED' : 'WHEN_SUPPORTED';
  const { S3Client } = s3Sdk().s3;
  const client = given ?? new S3Client({ ...base, requestChecksumCalculation: mode, responseChecksumValidation: mode });
  const whenRequired = {
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  } as const;
  // Presigned PUT URLs must not carry a checksum of an empty body: sign with a WHEN_REQUIRED twin.
  let presigner: S3Client | undefined;
  const presignClient = () => {
    presigner ??= new S3Client({ ...(given ? presignConfigOf(given) : base), ...whenRequired });
    return presigner;
  };

  return {
    bucket,
    client,
    presignClient,
    partSize,
    queueSize: parsed.data.queueSize ?? 4,
    multipartThreshold: parsed.data.multipartThreshold ?? partSize,
    ownsClient: !given,
  };
}
