import { expect, it } from 'vitest';
import type { SuiteContext } from '../context.js';
import { drain, generatedBody, hashing, rssProbe } from '../helpers.js';

/** Bodies larger than memory limits allow to be buffered: streamed through put and getStream. */
export function largeBodyCases(ctx: SuiteContext): void {
  const mib = Math.round(ctx.options.largeBodyBytes / 2 ** 20);
  it(
    `streams a ${mib} MiB body through put and getStream; with capability streaming, memory stays bounded`,
    async () => {
      const store = await ctx.store();
      const bytes = ctx.options.largeBodyBytes;
      const streaming = ctx.has(store, 'streaming');
      const probe = rssProbe();

      const written = hashing();
      const source = written.tap(generatedBody(bytes, { onChunk: probe.sample }));
      const info = await store.put('large/body.bin', source, { contentType: 'application/octet-stream' });
      expect(info.size).toBe(bytes);

      const read = await store.getStream('large/body.bin');
      expect(read.size).toBe(bytes);
      const result = await drain(read.body, probe.sample);
      const { peakGrowthMiB } = probe.stop();

      expect(result.bytes).toBe(bytes);
      expect(result.sha256).toBe(written.digest());
      if (streaming) {
        // A buffered body would grow the process by at least its own size.
        expect(peakGrowthMiB, `RSS grew by ${peakGrowthMiB.toFixed(1)} MiB`).toBeLessThan(
          ctx.options.maxRssGrowthBytes / 2 ** 20,
        );
      }
      await store.delete('large/body.bin');
    },
    ctx.options.slowTimeoutMs,
  );
}
