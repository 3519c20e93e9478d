import { gunzipSync, zstdDecompressSync } from 'node:zlib';
import { CompressionCodecs, CompressionTypes } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { registerCodecs, withTransportCodecs } from '../src/transport/kafka/codecs.js';

interface Codec {
  compress(encoder: { buffer: Buffer }): Promise<Buffer>;
  decompress(buffer: Buffer): Promise<Buffer>;
}
const codec = (type: CompressionTypes.GZIP | CompressionTypes.ZSTD) => (CompressionCodecs[type] as () => Codec)();
const batch = Buffer.from(JSON.stringify(Array.from({ length: 2000 }, (_, i) => ({ id: i, title: `t${i % 97}` }))));

describe("the Kafka transport's codecs in kafkajs's table", () => {
  it("gives Backlot's producers and consumers a one-round-trip gzip and leaves kafkajs's own codec to everyone else", async () => {
    const before = codec(CompressionTypes.GZIP);
    registerCodecs();
    registerCodecs(); // idempotent: not wrapped twice
    expect(codec(CompressionTypes.GZIP)).toBe(before);
    const ours = await withTransportCodecs(async () => codec(CompressionTypes.GZIP));
    expect(ours).not.toBe(before);
    // The same gzip either way: kafkajs's decompression (and any consumer) reads it.
    const compressed = await ours.compress({ buffer: batch });
    expect(gunzipSync(compressed).equals(batch)).toBe(true);
    expect((await before.decompress(compressed)).equals(batch)).toBe(true);
    // And Backlot's consumers read kafkajs's gzip.
    expect((await ours.decompress(await before.compress({ buffer: batch }))).equals(batch)).toBe(true);
  });

  it("adds zstd with Node's own zlib, readable back", async () => {
    registerCodecs();
    const zstd = codec(CompressionTypes.ZSTD);
    const compressed = await zstd.compress({ buffer: batch });
    expect(compressed.length).toBeLessThan(batch.length);
    expect(zstdDecompressSync(compressed).equals(batch)).toBe(true);
    expect((await zstd.decompress(compressed)).equals(batch)).toBe(true);
  });
});
