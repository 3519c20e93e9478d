import { InvalidRangeError } from '../errors.js';
import type { ByteRange, ReturnedRange } from './types.js';

/** Checks a range's shape before any I/O. */
export function assertRangeShape(key: string, range: ByteRange | undefined): void {
  if (range === undefined) return;
  if (!Number.isSafeInteger(range.offset) || range.offset < 0) {
    throw new InvalidRangeError(key, `offset must be a non-negative integer, got ${range.offset}`);
  }
  if (range.length !== undefined && (!Number.isSafeInteger(range.length) || range.length < 1)) {
    throw new InvalidRangeError(key, `length must be a positive integer, got ${range.length}`);
  }
}

/** Resolves a range against an object's size, as S3 does: offset below size, end cut at the end. */
export function resolveRange(key: string, range: ByteRange, size: number): ReturnedRange {
  if (range.offset >= size) {
    throw new InvalidRangeError(key, `offset ${range.offset} is not below the object's size ${size}`);
  }
  const length = Math.min(range.length ?? size - range.offset, size - range.offset);
  return { offset: range.offset, length };
}

/** The HTTP `Range` header of a range. */
export function rangeHeader(range: ByteRange): string {
  return `bytes=${range.offset}-${range.length === undefined ? '' : range.offset + range.length - 1}`;
}
