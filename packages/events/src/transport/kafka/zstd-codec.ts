import { promisify } from 'node:util';
import * as zlib from 'node:zlib';
// The default import: Node's ESM loader does not see `CompressionCodecs` among kafkajs's (CommonJS) named exports.
import kafkajs from 'kafkajs';
import { zstdAvailable } from '../zstd.js';

const MIN_CHUNK = 64 * 1024;

/**
 * Teaches kafkajs zstd (Kafka compression type 4) with Node's own `node:zlib`
 * zstd: no native add-on. kafkajs keeps codecs in one registry per process, so
 * this only fills its empty ZSTD slot (which throws "not implemented"); a codec
 * the application registered itself (e.g. `@kafkajs/zstd`) is left in place.
 * Compression and decompression run on libuv's thread pool, off the event loop.
 * @internal
 */
export function registerZstdCodec(): void {
  if (!zstdAvailable) return;
  const { CompressionCodecs, CompressionTypes } = kafkajs;
  const current = CompressionCodecs[CompressionTypes.ZSTD];
  try {
    if (current?.()) return;
  } catch {
    // kafkajs's placeholder: fill it below.
  }
  const compress = promisify(zlib.zstdCompress);
  const decompress = promisify(zlib.zstdDecompress);
  // One output chunk for the whole batch: with zlib's default 16 KiB chunks a
  // 1 MiB batch makes dozens of round trips between the pool and the event loop.
  const codec = {
    compress: (encoder: { buffer: Buffer }) =>
      compress(encoder.buffer, { chunkSize: Math.max(MIN_CHUNK, encoder.buffer.length + 1024) }),
    decompress: (buffer: Buffer) => decompress(buffer, { chunkSize: Math.max(MIN_CHUNK, buffer.length * 4) }),
  };
  CompressionCodecs[CompressionTypes.ZSTD] = () => codec;
}
