import { AsyncLocalStorage } from 'node:async_hooks';
import { promisify } from 'node:util';
import * as zlib from 'node:zlib';
// The default import: Node's ESM loader does not see `CompressionCodecs` among kafkajs's (CommonJS) named exports.
import kafkajs from 'kafkajs';
import { zstdAvailable } from '../zstd.js';

/** A kafkajs compression codec. */
interface Codec {
  compress(encoder: { buffer: Buffer }): Promise<Buffer>;
  decompress(buffer: Buffer): Promise<Buffer>;
}

const MIN_CHUNK = 64 * 1024;
/** zlib's output chunk for a whole batch: one round trip between the thread pool and the event loop. */
const chunkFor = (input: Buffer) => ({ chunkSize: Math.max(MIN_CHUNK, input.length + 1024) });
const wrapped = Symbol.for('backlot.events.kafkajsGzipCodec');
/** Set while a Backlot transport producer sends or consumer runs: kafkajs then uses Backlot's gzip codec. */
const inTransportSend = new AsyncLocalStorage<true>();

/**
 * Fills kafkajs's codec table where Backlot needs it. kafkajs keeps one table
 * per process, so this stays out of other kafkajs clients' way:
 *
 * - **zstd** (Kafka compression type 4) with Node's own `node:zlib` zstd, no
 *   native add-on: only kafkajs's empty slot (which throws "not implemented")
 *   is filled; a codec the application registered (e.g. `@kafkajs/zstd`) stays.
 *   Consumers of every kafkajs client in the process can then read zstd.
 * - **gzip**, for Backlot's own producers and consumers only (see
 *   {@link withTransportCodecs}): the same gzip, but with zlib's output sized
 *   for the whole batch. kafkajs's codec keeps zlib's 16 KiB chunks, so a 1 MiB
 *   batch made dozens of round trips between the thread pool and the event
 *   loop (measured: ~15 % of the event loop's time in the events bench, and
 *   19 % fewer events/s sent; a pipeline consumed ~25 % fewer events/s).
 *   Other kafkajs clients in the process keep kafkajs's codec.
 *
 * Compression runs on libuv's thread pool, off the event loop.
 * @internal
 */
export function registerCodecs(): void {
  const { CompressionCodecs, CompressionTypes } = kafkajs;
  if (zstdAvailable) {
    let filled = false;
    try {
      filled = Boolean(CompressionCodecs[CompressionTypes.ZSTD]?.());
    } catch {
      // kafkajs's placeholder: fill it below.
    }
    if (!filled) {
      const compress = promisify(zlib.zstdCompress);
      const decompress = promisify(zlib.zstdDecompress);
      const zstd: Codec = {
        compress: (encoder) => compress(encoder.buffer, chunkFor(encoder.buffer)),
        decompress: (buffer) => decompress(buffer, { chunkSize: Math.max(MIN_CHUNK, buffer.length * 4) }),
      };
      CompressionCodecs[CompressionTypes.ZSTD] = () => zstd;
    }
  }
  const stock = CompressionCodecs[CompressionTypes.GZIP] as (() => Codec) & { [wrapped]?: true };
  if (stock[wrapped]) return;
  const gzip = promisify(zlib.gzip);
  const unzip = promisify(zlib.unzip);
  const ours: Codec = {
    compress: (encoder) => gzip(encoder.buffer, chunkFor(encoder.buffer)),
    decompress: (buffer) => unzip(buffer, { chunkSize: Math.max(MIN_CHUNK, buffer.length * 4) }),
  };
  CompressionCodecs[CompressionTypes.GZIP] = Object.assign(() => (inTransportSend.getStore() ? ours : stock()), {
    [wrapped]: true as const,
  });
}

/** Runs a Backlot producer's kafkajs send (or a consumer's run), so that its batches use Backlot's gzip codec. @internal */
export function withTransportCodecs<T>(send: () => Promise<T>): Promise<T> {
  return inTransportSend.run(true, send);
}
