import { randomFillSync } from 'node:crypto';

const POOL_BYTES = 4096;
const pool = Buffer.allocUnsafe(POOL_BYTES);
let offset = POOL_BYTES;

/**
 * `bytes` random bytes as lower-case hex, from a pool refilled 4 KiB at a
 * time (one `getrandom` per ~170 trace ids instead of two per request: the
 * pool trick of `crypto.randomUUID`). Trace and span ids need uniqueness,
 * not secrecy. @internal
 */
export function randomHex(bytes: number): string {
  if (offset + bytes > POOL_BYTES) {
    randomFillSync(pool);
    offset = 0;
  }
  const hex = pool.toString('hex', offset, offset + bytes);
  offset += bytes;
  return hex;
}
