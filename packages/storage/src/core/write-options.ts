import { z } from 'zod';
import { ValidationError, type ValidationIssue } from '../errors.js';
import { DEFAULT_CONTENT_TYPE, normalizeMetadata } from './metadata.js';
import type { CopyOptions, ObjectInfo, PutOptions } from './types.js';

/** Largest user metadata, in bytes of UTF-8 of every name and value (S3's limit). */
export const MAX_METADATA_BYTES = 2048;

/** The HTTP attributes stored with an object besides its content type. */
export interface ObjectAttributes {
  contentType: string;
  metadata: Record<string, string>;
  cacheControl?: string | undefined;
  contentDisposition?: string | undefined;
  contentEncoding?: string | undefined;
}

/** An `AbortSignal`, from this realm or another (checked by shape, not by class). */
const signal = z.custom<AbortSignal>(
  (value) =>
    typeof value === 'object' &&
    value !== null &&
    typeof (value as AbortSignal).aborted === 'boolean' &&
    typeof (value as AbortSignal).addEventListener === 'function',
  'signal must be an AbortSignal',
);
const etag = (field: string) =>
  z.string({ error: `${field} must be an etag string` }).min(1, `${field} must be an etag such as '"abc"'`);
const text = (field: string) => z.string({ error: `${field} must be a string` });
const attributes = {
  contentType: text('contentType').min(1, 'contentType must not be empty').optional(),
  cacheControl: text('cacheControl').optional(),
  contentDisposition: text('contentDisposition').optional(),
  contentEncoding: text('contentEncoding').optional(),
  metadata: z
    .record(z.string(), z.string({ error: 'metadata values must be strings' }), {
      error: 'metadata must be an object of string values',
    })
    .optional(),
};

const putSchema = z.strictObject({
  signal: signal.optional(),
  ...attributes,
  ifNoneMatch: z.literal('*', { error: "ifNoneMatch must be '*' (create only)" }).optional(),
  ifMatch: etag('ifMatch').optional(),
  contentLength: z
    .number({ error: 'contentLength must be a number of bytes' })
    .int('contentLength must be a whole number of bytes')
    .min(0, 'contentLength must be a non-negative integer')
    .optional(),
});

const copySchema = z.strictObject({
  signal: signal.optional(),
  ...attributes,
  sourceIfMatch: etag('sourceIfMatch').optional(),
  ifNoneMatch: z.literal('*', { error: "ifNoneMatch must be '*' (create only)" }).optional(),
  ifMatch: etag('ifMatch').optional(),
});

/**
 * A metadata name every S3-compatible server and HTTP proxy keeps: letters,
 * digits, `-`, `_` and `.`, starting with a letter or digit (other header-name
 * characters such as `|` are dropped silently by some servers).
 */
const NAME = /^[0-9A-Za-z][0-9A-Za-z._-]*$/;
/** Printable ASCII, as S3 stores header values, without the edge whitespace S3 would trim. */
const HEADER_VALUE = /^(?:[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?)?$/;

function checkAttributes(options: PutOptions | CopyOptions): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  for (const field of ['contentType', 'cacheControl', 'contentDisposition', 'contentEncoding'] as const) {
    const value = options[field];
    if (value !== undefined && !HEADER_VALUE.test(value)) {
      issues.push({
        path: [field],
        message: 'must be printable ASCII without leading or trailing spaces (an HTTP header value)',
      });
    }
  }
  let bytes = 0;
  for (const [name, value] of Object.entries(options.metadata ?? {})) {
    bytes += Buffer.byteLength(name) + Buffer.byteLength(value);
    if (!NAME.test(name)) {
      issues.push({
        path: ['metadata', name],
        message: "names must start with a letter or digit and use only letters, digits, '-', '_' and '.'",
      });
    }
    if (!HEADER_VALUE.test(value)) {
      issues.push({
        path: ['metadata', name],
        message:
          'values must be printable ASCII without leading or trailing spaces; encode other text (e.g. encodeURIComponent)',
      });
    }
  }
  const lowered = new Set(Object.keys(options.metadata ?? {}).map((name) => name.toLowerCase()));
  if (lowered.size !== Object.keys(options.metadata ?? {}).length) {
    issues.push({ path: ['metadata'], message: 'names must differ in more than case (they are stored lower-cased)' });
  }
  if (bytes > MAX_METADATA_BYTES) {
    issues.push({
      path: ['metadata'],
      message: `must be at most ${MAX_METADATA_BYTES} bytes of names and values (S3's limit), is ${bytes}`,
    });
  }
  return issues;
}

function parse(
  operation: 'put' | 'copy',
  schema: typeof putSchema | typeof copySchema,
  key: string,
  options: PutOptions | CopyOptions | undefined,
): void {
  if (options === undefined) return;
  const parsed = schema.safeParse(options);
  if (!parsed.success) throw new TypeError(`${operation}: ${z.prettifyError(parsed.error)}`);
  const issues = checkAttributes(options);
  if (issues.length > 0) throw new ValidationError(key, 'write', issues);
}

/**
 * Validates `put` options the same way on every adapter: unknown options and
 * wrong types are a `TypeError` naming the field; content type, cache control,
 * disposition, encoding and metadata that S3 could not store as they are are a
 * (non-retryable) `ValidationError`.
 */
export function assertPutOptions(key: string, options: PutOptions | undefined): void {
  parse('put', putSchema, key, options);
}

/** Validates `copy` options, as {@link assertPutOptions}. */
export function assertCopyOptions(key: string, options: CopyOptions | undefined): void {
  parse('copy', copySchema, key, options);
}

/** The attributes a `put` stores. */
export function putAttributes(options: PutOptions | undefined): ObjectAttributes {
  return {
    contentType: options?.contentType ?? DEFAULT_CONTENT_TYPE,
    metadata: normalizeMetadata(options?.metadata),
    ...headerAttributes(options ?? {}),
  };
}

/** The attributes of a copy: each one given in `options`, else the source's. */
export function copyAttributes(source: ObjectInfo, options: CopyOptions | undefined): ObjectAttributes {
  return {
    contentType: options?.contentType ?? source.contentType,
    metadata: options?.metadata !== undefined ? normalizeMetadata(options.metadata) : { ...source.metadata },
    ...headerAttributes(source),
    ...headerAttributes(options ?? {}),
  };
}

/** True when a copy changes any attribute (S3's `MetadataDirective: REPLACE`). */
export function copyReplacesAttributes(options: CopyOptions | undefined): boolean {
  return (
    options?.contentType !== undefined ||
    options?.metadata !== undefined ||
    options?.cacheControl !== undefined ||
    options?.contentDisposition !== undefined ||
    options?.contentEncoding !== undefined
  );
}

/** The defined cache control, disposition and encoding of `from`. */
export function headerAttributes(from: {
  cacheControl?: string | undefined;
  contentDisposition?: string | undefined;
  contentEncoding?: string | undefined;
}): Pick<ObjectAttributes, 'cacheControl' | 'contentDisposition' | 'contentEncoding'> {
  return {
    ...(from.cacheControl !== undefined ? { cacheControl: from.cacheControl } : {}),
    ...(from.contentDisposition !== undefined ? { contentDisposition: from.contentDisposition } : {}),
    ...(from.contentEncoding !== undefined ? { contentEncoding: from.contentEncoding } : {}),
  };
}
