export {
  AbortedError,
  isAbortedError,
  isTimeoutError,
  ResilienceError,
  type ResilienceErrorCode,
  TimeoutError,
} from './errors.js';
export { type WithTimeoutOptions, withTimeout } from './timeout/with-timeout.js';
