import type { ConsumedMessage } from './types.js';

/** A header value as Kafka clients hand it back: bytes or text, repeated headers as an array. */
type HeaderValue = Buffer | Uint8Array | string | readonly (Buffer | Uint8Array | string)[] | null | undefined;

function text(value: HeaderValue): string | undefined {
  const first = Array.isArray(value) ? value[0] : value;
  if (first === undefined || first === null) return undefined;
  if (typeof first === 'string') return first;
  return Buffer.from(first as Uint8Array).toString('utf8');
}

/**
 * A consumed record's headers as text, from kafkajs' object form or
 * `@platformatic/kafka`'s `Map` (the first value of a repeated header);
 * `undefined` when it has none, so records without headers cost nothing more.
 * @internal
 */
export function textHeaders(
  headers: Readonly<Record<string, HeaderValue>> | ReadonlyMap<unknown, HeaderValue> | null | undefined,
): Record<string, string> | undefined {
  if (!headers) return undefined;
  let out: Record<string, string> | undefined;
  const entries = headers instanceof Map ? headers.entries() : Object.entries(headers);
  for (const [name, value] of entries as Iterable<[unknown, HeaderValue]>) {
    const decoded = text(value);
    if (decoded === undefined) continue;
    const key = typeof name === 'string' ? name : Buffer.from(name as Uint8Array).toString('utf8');
    // Null prototype: a header named `__proto__` is kept as data.
    out ??= Object.create(null) as Record<string, string>;
    out[key] = decoded;
  }
  return out;
}

/** The `headers` member of a {@link ConsumedMessage}: absent when the record has none. @internal */
export function headersOf(headers: Parameters<typeof textHeaders>[0]): { headers?: Readonly<Record<string, string>> } {
  const decoded = textHeaders(headers);
  return decoded ? { headers: decoded } : {};
}
