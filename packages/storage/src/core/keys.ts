import { InvalidKeyError } from '../errors.js';

// biome-ignore lint/suspicious/noControlCharactersInRegex: the control characters are what it finds
const CONTROL = /[\u0000-\u001f\u007f]/;

/** Longest key, in bytes of UTF-8, that every adapter accepts (S3's limit). */
export const MAX_KEY_BYTES = 1024;

/**
 * Checks a key against the rules every adapter shares: a string of 1 to 1024
 * bytes of UTF-8 (S3's limit), well-formed Unicode, and no control character
 * (U+0000–U+001F, U+007F): S3 itself accepts them, but they do not survive
 * every S3-compatible server, proxy or XML listing the same way, and they
 * forge log lines. Adapters may add rules (the filesystem adapter rejects
 * `..` segments and absolute paths).
 * @throws {InvalidKeyError}
 */
export function assertValidKey(key: string): void {
  if (typeof key !== 'string' || key.length === 0)
    throw new InvalidKeyError(String(key), 'keys must be non-empty strings');
  if (Buffer.byteLength(key) > MAX_KEY_BYTES) {
    throw new InvalidKeyError(key, `keys must be at most ${MAX_KEY_BYTES} bytes of UTF-8`);
  }
  if (CONTROL.test(key)) {
    throw new InvalidKeyError(key, 'keys must not contain control characters (U+0000–U+001F, U+007F)');
  }
  const wellFormed = (key as { isWellFormed?: () => boolean }).isWellFormed;
  if (wellFormed && !wellFormed.call(key)) {
    throw new InvalidKeyError(key, 'keys must be well-formed Unicode (no lone surrogates)');
  }
}

/** Compares keys by their UTF-8 bytes: the order S3 lists them in. */
export function compareKeys(a: string, b: string): number {
  if (a === b) return 0;
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}
