// The one kafkajs internal the Kafka transport touches (see request-queue-fix.ts).
declare module 'kafkajs/src/network/requestQueue/index.js' {
  /** kafkajs's per-connection request queue (CommonJS class). */
  const RequestQueue: {
    prototype: {
      scheduleCheckPendingRequests(this: KafkajsRequestQueue): void;
    };
  };
  /** The fields of a queue the fix reads. */
  export interface KafkajsRequestQueue {
    throttledUntil: number;
    throttleCheckTimeoutId: NodeJS.Timeout | null;
    pending: unknown[];
    checkPendingRequests(): void;
  }
  export default RequestQueue;
}
