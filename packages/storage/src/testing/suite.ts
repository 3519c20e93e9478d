import { afterEach, describe } from 'vitest';
import type { ObjectStore, StoreCapabilities } from '../core/types.js';
import { attributeCases } from './cases/attributes.js';
import { conditionalCases } from './cases/conditional.js';
import { copyCases } from './cases/copy.js';
import { coreCases } from './cases/core.js';
import { largeBodyCases } from './cases/large.js';
import { listingCases } from './cases/listing.js';
import { multipartCases } from './cases/multipart.js';
import { presignCases } from './cases/presign.js';
import { rangeCases } from './cases/ranges.js';
import { streamCases } from './cases/streams.js';
import type { ConformanceOptions, SuiteContext } from './context.js';

/**
 * The conformance suite of `@backlot/storage`: the same assertions for every
 * adapter, in the repo or third-party. Call it from a vitest test file with a
 * factory of fresh, empty stores. Cases of a capability the store does not
 * declare (see `StoreCapabilities`) are skipped, with the reason in the report.
 *
 * @example
 * ```ts
 * import { describeObjectStoreConformance } from '@backlot/storage/testing';
 * describeObjectStoreConformance({ name: 'my-adapter', createStore: () => createMyStore() });
 * ```
 */
export function describeObjectStoreConformance(options: ConformanceOptions): void {
  const used: ObjectStore[] = [];
  const ctx: SuiteContext = {
    options: {
      name: options.name,
      createStore: options.createStore,
      capabilities: options.capabilities,
      largeBodyBytes: options.largeBodyBytes ?? 512 * 1024 * 1024,
      // A buffered body grows the process by at least its size; a streamed one by its buffers plus GC slack
      // (measured 20-120 MiB for S3 with lib-storage's 5 MiB x 4 parts): allow 3/8 of the body.
      maxRssGrowthBytes: options.maxRssGrowthBytes ?? ((options.largeBodyBytes ?? 512 * 1024 * 1024) * 3) / 8,
      manyKeys: options.manyKeys ?? 1100,
      racers: options.racers ?? 8,
      slowTimeoutMs: options.slowTimeoutMs ?? 600_000,
    },
    async store() {
      const store = await options.createStore();
      used.push(store);
      return store;
    },
    has(store: ObjectStore, capability: keyof StoreCapabilities) {
      return options.capabilities?.[capability] ?? store.capabilities[capability];
    },
  };

  describe(`${options.name}: ObjectStore conformance`, () => {
    afterEach(async () => {
      for (const store of used.splice(0)) await options.disposeStore?.(store);
    });
    describe('core', () => coreCases(ctx));
    describe('streams', () => streamCases(ctx));
    describe('ranges', () => rangeCases(ctx));
    describe('listing', () => listingCases(ctx));
    describe('copy', () => copyCases(ctx));
    describe('attributes and validation', () => attributeCases(ctx));
    describe('conditional writes', () => conditionalCases(ctx));
    describe('large bodies', () => largeBodyCases(ctx));
    describe('multipart', () => multipartCases(ctx));
    describe('presign', () => presignCases(ctx));
  });
}
