import type { IncomingMessage } from 'node:http';
import { GatewayError, isGatewayError } from '../errors.js';
import { clientClosed } from './fault.js';

const tooLarge = (max: number) =>
  new GatewayError('BACKLOT_GATEWAY_BODY_TOO_LARGE', `request body over ${max} bytes`, {
    headers: { connection: 'close' },
  });

const tooSlow = (ms: number) =>
  new GatewayError('BACKLOT_GATEWAY_REQUEST_TIMEOUT', `no request body bytes for ${ms} ms`, {
    headers: { connection: 'close' },
  });

/**
 * Reads a whole (small) request body into one buffer. A body over `max`
 * bytes rejects with a 413 error, `idleMs` without a byte (`0`: no limit)
 * with a 408 error (nginx's `client_body_timeout`), a client that goes away
 * with a `CLIENT_CLOSED` one: all of them the client's fault.
 */
export function readBody(req: IncomingMessage, max: number, idleMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let bytes = 0;
    let timer: NodeJS.Timeout | undefined;
    const arm = () => {
      if (idleMs <= 0) return;
      if (timer) timer.refresh();
      else
        timer = setTimeout(() => {
          cleanup();
          reject(tooSlow(idleMs));
        }, idleMs);
    };
    const onData = (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes > max) {
        cleanup();
        reject(tooLarge(max));
        return;
      }
      chunks.push(chunk);
      arm();
    };
    const onEnd = () => {
      cleanup();
      resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, bytes));
    };
    const onError = () => {
      cleanup();
      reject(clientClosed());
    };
    const onClose = () => {
      if (!req.complete) onError();
    };
    const cleanup = () => {
      clearTimeout(timer);
      req.off('data', onData).off('end', onEnd).off('error', onError).off('close', onClose);
    };
    req.on('data', onData).on('end', onEnd).on('error', onError).on('close', onClose);
    arm();
  });
}

/** `promise`, or a 408 error after `ms`. */
function withIdleTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(tooSlow(ms)), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

/**
 * Streams a request body to the origin: a 413 error once more than `max`
 * bytes went through, a 408 error after `idleMs` without a byte (`0`: no
 * limit), a `CLIENT_CLOSED` error when the client goes away. These errors
 * reach the origin's attempt as the client's fault: never counted against
 * the origin. The request is not destroyed, so the error can be answered.
 */
export async function* clientBody(req: IncomingMessage, max: number, idleMs: number): AsyncGenerator<Buffer> {
  const iterator = req.iterator({ destroyOnReturn: false })[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  let bytes = 0;
  for (;;) {
    let result: IteratorResult<Buffer>;
    try {
      result = idleMs > 0 ? await withIdleTimeout(iterator.next(), idleMs) : await iterator.next();
    } catch (error) {
      throw isGatewayError(error) ? error : clientClosed();
    }
    if (result.done) return;
    bytes += result.value.length;
    if (bytes > max) throw tooLarge(max);
    yield result.value;
  }
}

/** Whether a request carries a body (HTTP/1.1 framing, or HTTP/2 without END_STREAM). */
export function hasRequestBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  if (length !== undefined) return length !== '0';
  if (req.headers['transfer-encoding'] !== undefined) return true;
  return req.httpVersionMajor === 2 && !req.readableEnded && req.method !== 'GET' && req.method !== 'HEAD';
}
