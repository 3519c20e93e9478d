export { type AimdLimitOptions, aimdLimit } from './aimd.js';
export { type Gradient2LimitOptions, gradient2Limit } from './gradient2.js';
export { AdaptiveLimiter, type AdaptiveLimiterOptions, type LimiterToken } from './limiter.js';
export type { ConcurrencyLimit, LimitFunction } from './types.js';
export { type VegasLimitOptions, vegasLimit } from './vegas.js';
export { type WindowedLimitOptions, windowedLimit } from './windowed.js';
