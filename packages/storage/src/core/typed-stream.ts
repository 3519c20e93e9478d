import { PassThrough, type Readable } from 'node:stream';

/**
 * The bytes of `source`, with any error it fails with replaced by `map(error)`
 * (a typed `StorageError`, or an abort signal's reason). Destroying the result
 * destroys `source`.
 */
export function withTypedErrors(source: Readable, map: (error: unknown) => unknown): Readable {
  const out = new PassThrough({ highWaterMark: source.readableHighWaterMark });
  source.once('error', (error) => {
    const mapped = map(error);
    out.destroy(mapped instanceof Error ? mapped : new Error(String(mapped), { cause: mapped }));
  });
  out.once('close', () => {
    if (!source.destroyed) source.destroy();
  });
  source.pipe(out);
  return out;
}
