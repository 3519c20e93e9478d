import type { IncomingMessage } from 'node:http';
import { GatewayError } from '../errors.js';

const tooLarge = (max: number) =>
  new GatewayError('BACKLOT_GATEWAY_BODY_TOO_LARGE', `request body over ${max} bytes`, {
    headers: { connection: 'close' },
  });

/** Reads a whole (small) request body into one buffer; a body over `max` bytes rejects with a 413 error. */
export function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let bytes = 0;
    const onData = (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes > max) {
        cleanup();
        reject(tooLarge(max));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, bytes));
    };
    const onError = (error: Error) => {
      cleanup();
      reject(error);
    };
    const onClose = () => {
      if (!req.complete) onError(new Error('client closed the request before its body ended'));
    };
    const cleanup = () => {
      req.off('data', onData).off('end', onEnd).off('error', onError).off('close', onClose);
    };
    req.on('data', onData).on('end', onEnd).on('error', onError).on('close', onClose);
  });
}

/** Streams a request body, failing with a 413 error once more than `max` bytes went through. */
export async function* limitedBody(req: IncomingMessage, max: number): AsyncGenerator<Buffer> {
  let bytes = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    bytes += chunk.length;
    if (bytes > max) throw tooLarge(max);
    yield chunk;
  }
}

/** Whether a request carries a body (HTTP/1.1 framing, or HTTP/2 without END_STREAM). */
export function hasRequestBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  if (length !== undefined) return length !== '0';
  if (req.headers['transfer-encoding'] !== undefined) return true;
  return req.httpVersionMajor === 2 && !req.readableEnded && req.method !== 'GET' && req.method !== 'HEAD';
}
