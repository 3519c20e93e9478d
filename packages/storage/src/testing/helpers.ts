import { createHash, randomBytes } from 'node:crypto';
import { Readable, Transform } from 'node:stream';

/**
 * A stream of `bytes` pseudo-random bytes produced chunk by chunk, never held
 * whole in memory: for pushing bodies larger than memory limits through a store.
 * `onChunk` runs after each chunk is produced (e.g. to sample memory use).
 */
export function generatedBody(bytes: number, options: { chunkSize?: number; onChunk?: () => void } = {}): Readable {
  const chunkSize = options.chunkSize ?? 1024 * 1024;
  const block = randomBytes(chunkSize);
  let sent = 0;
  let index = 0;
  return new Readable({
    highWaterMark: chunkSize,
    read() {
      if (sent >= bytes) {
        this.push(null);
        return;
      }
      const size = Math.min(chunkSize, bytes - sent);
      const chunk = Buffer.allocUnsafe(size);
      block.copy(chunk, 0, 0, size);
      if (size >= 4) chunk.writeUInt32BE(index >>> 0, 0); // every chunk differs
      index++;
      sent += size;
      options.onChunk?.();
      this.push(chunk);
    },
  });
}

/** A pass-through that hashes (SHA-256) and counts what flows through it. */
export function hashing(): { digest(): string; bytes(): number; tap(stream: Readable): Readable } {
  const hash = createHash('sha256');
  let count = 0;
  let digest: string | undefined;
  return {
    digest: () => {
      digest ??= hash.digest('hex');
      return digest;
    },
    bytes: () => count,
    tap(stream: Readable): Readable {
      // A pass-through, not a 'data' listener: the stream keeps its backpressure and stays paused until read.
      const through = new Transform({
        transform(chunk: Buffer, _encoding, callback) {
          hash.update(chunk);
          count += chunk.byteLength;
          callback(null, chunk);
        },
      });
      stream.once('error', (error) => through.destroy(error));
      return stream.pipe(through);
    },
  };
}

/** Consumes a stream, hashing it; returns SHA-256 and size. `onChunk` runs per chunk. */
export async function drain(
  stream: AsyncIterable<Uint8Array>,
  onChunk?: () => void,
): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of stream) {
    hash.update(chunk);
    bytes += chunk.byteLength;
    onChunk?.();
  }
  return { sha256: hash.digest('hex'), bytes };
}

/** Tracks the peak resident set size above a baseline while a task runs. */
export function rssProbe(): { sample(): void; stop(): { baselineMiB: number; peakGrowthMiB: number } } {
  const baseline = process.memoryUsage.rss();
  let peak = baseline;
  const sample = () => {
    const rss = process.memoryUsage.rss();
    if (rss > peak) peak = rss;
  };
  const timer = setInterval(sample, 20);
  timer.unref();
  return {
    sample,
    stop() {
      clearInterval(timer);
      sample();
      return { baselineMiB: baseline / 2 ** 20, peakGrowthMiB: (peak - baseline) / 2 ** 20 };
    },
  };
}

/** A stream that yields `chunks` then fails with `error` (to test failed uploads). */
export function failingBody(chunks: Buffer[], error: Error): Readable {
  let i = 0;
  return new Readable({
    read() {
      if (i < chunks.length) this.push(chunks[i++]);
      else this.destroy(error);
    },
  });
}

/** Catches a rejection and returns it (for asserting on typed errors). */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to fail, it succeeded');
}
