/**
 * `@backlot/storage/testing`: the conformance suite every adapter runs, for
 * third-party adapters too (needs vitest), and the body helpers it uses.
 */
export type { ConformanceOptions } from './context.js';
export { describeObjectStoreFaults, type FaultSuiteOptions } from './faults.js';
export { drain, failingBody, generatedBody, hashing, rejection, rssProbe } from './helpers.js';
export { describeKeyValueConformance, hostileIds, type KeyValueConformanceOptions } from './key-value-suite.js';
export { type FaultProxy, faultProxy } from './proxy.js';
export { hungServer, midBodyServer, type RawServer } from './servers.js';
export { describeObjectStoreConformance } from './suite.js';
