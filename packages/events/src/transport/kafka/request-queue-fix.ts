/// <reference path="./kafkajs-internals.d.ts" />
import RequestQueue, { type KafkajsRequestQueue } from 'kafkajs/src/network/requestQueue/index.js';

/** kafkajs's own interval for re-checking pending requests, in ms. */
const CHECK_PENDING_REQUESTS_INTERVAL = 10;
const fixed = Symbol.for('backlot.events.kafkajsRequestQueueFix');

/**
 * Fixes a kafkajs 2.2.4 bug (tulios/kafkajs#1751, fix proposed in #1768, no
 * release since 2023): after every response, each connection's request queue
 * schedules its next check `throttledUntil - Date.now()` ms ahead; unthrottled,
 * that is a large negative number, which Node turns into 1 ms, so every idle
 * connection wakes up every millisecond for as long as it is open (and Node 24
 * prints a `TimeoutNegativeWarning`). Measured here: 5 idle idempotent
 * producers used 78 ms of CPU in 3 s stock, 5 ms fixed.
 *
 * The fix schedules a check only when a request is waiting (as before) or the
 * connection is throttled; a request that arrives later is checked when it is
 * queued or when an in-flight one completes, as kafkajs already does. Applied
 * once per process, to kafkajs's prototype (kafkajs keeps one per process).
 * @internal
 */
export function fixKafkajsRequestQueue(): void {
  const prototype = RequestQueue.prototype as typeof RequestQueue.prototype & { [fixed]?: true };
  if (prototype[fixed]) return;
  prototype[fixed] = true;
  prototype.scheduleCheckPendingRequests = function scheduleCheckPendingRequests(this: KafkajsRequestQueue) {
    if (this.throttleCheckTimeoutId) return;
    let scheduleAt = this.throttledUntil - Date.now();
    if (this.pending.length > 0) scheduleAt = scheduleAt > 0 ? scheduleAt : CHECK_PENDING_REQUESTS_INTERVAL;
    else if (scheduleAt <= 0) return;
    this.throttleCheckTimeoutId = setTimeout(() => {
      this.throttleCheckTimeoutId = null;
      this.checkPendingRequests();
    }, scheduleAt);
  };
}
