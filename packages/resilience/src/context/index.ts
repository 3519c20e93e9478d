export {
  type Collapser,
  type CollapserBatchResult,
  type CollapserOptions,
  defineCollapser,
} from './collapser.js';
export {
  CollapserBatchMismatchError,
  CollapserError,
  type CollapserErrorCode,
  CollapserMissingKeyError,
  isCollapserBatchMismatchError,
  isCollapserMissingKeyError,
} from './errors.js';
export { cachedInRequest } from './request-cache.js';
export {
  currentRequestContext,
  type RequestContext,
  type RequestContextOptions,
  runInRequestContext,
} from './request-context.js';
