import type { ObjectStore, StoreCapabilities } from '../core/types.js';

/** Options of {@link describeObjectStoreConformance}. */
export interface ConformanceOptions {
  /** Shown in test names, e.g. `filesystem`. */
  name: string;
  /** A fresh, empty store for each test. */
  createStore: () => ObjectStore | Promise<ObjectStore>;
  /** Called after each test with the store it used (drop buckets, remove folders, …). */
  disposeStore?: ((store: ObjectStore) => void | Promise<void>) | undefined;
  /** Overrides the store's own `capabilities` (to skip cases on purpose). */
  capabilities?: Partial<StoreCapabilities> | undefined;
  /** Size of the large streamed body, bytes (default 512 MiB). */
  largeBodyBytes?: number | undefined;
  /** Largest growth of this process's RSS allowed while it streams, bytes (default: 3/8 of `largeBodyBytes`, 192 MiB). */
  maxRssGrowthBytes?: number | undefined;
  /** Keys written for the pagination cases (default 1100: more than one 1000-key page). */
  manyKeys?: number | undefined;
  /** Racing writers in the concurrency cases (default 8). */
  racers?: number | undefined;
  /** Timeout of the heavy cases, ms (default 600000). */
  slowTimeoutMs?: number | undefined;
}

/** What every case file gets. */
export interface SuiteContext {
  options: {
    name: string;
    createStore: ConformanceOptions['createStore'];
    capabilities: Partial<StoreCapabilities> | undefined;
    largeBodyBytes: number;
    maxRssGrowthBytes: number;
    manyKeys: number;
    racers: number;
    slowTimeoutMs: number;
  };
  /** A fresh store for this test (disposed after it). */
  store(): Promise<ObjectStore>;
  /** The capabilities that apply to `store`. */
  has(store: ObjectStore, capability: keyof StoreCapabilities): boolean;
}
