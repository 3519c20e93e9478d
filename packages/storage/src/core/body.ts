import { Readable } from 'node:stream';
import type { ObjectBody } from './types.js';

/** The body as bytes when it is already in memory, `undefined` when it is a stream. */
export function bytesOf(body: ObjectBody): Buffer | undefined {
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  if (body instanceof Uint8Array)
    return Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  return undefined;
}

function isWebStream(body: unknown): body is ReadableStream<Uint8Array> {
  return typeof (body as ReadableStream | undefined)?.getReader === 'function' && !(body instanceof Readable);
}

/** Any body as a Node `Readable` of Buffers, without buffering a stream. */
export function toReadable(body: ObjectBody): Readable {
  const bytes = bytesOf(body);
  if (bytes) return Readable.from([bytes], { objectMode: false });
  if (body instanceof Readable) return body;
  if (isWebStream(body)) return Readable.fromWeb(body as import('node:stream/web').ReadableStream<Uint8Array>);
  return Readable.from(body as AsyncIterable<Uint8Array>, { objectMode: false });
}

/** Reads a stream whole into one Buffer. */
export async function collect(stream: AsyncIterable<Uint8Array | string>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk));
  return Buffer.concat(chunks);
}

/** Destroys a body the caller handed over, when a call fails before consuming it. */
export function discard(body: ObjectBody, error?: unknown): void {
  if (body instanceof Readable) body.destroy(error instanceof Error ? error : undefined);
  else if (isWebStream(body)) body.cancel(error).catch(() => {});
}
