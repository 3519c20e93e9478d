import { Bulkhead } from '@backlot/resilience';

/** How many requests the Play API works on at once, and how long the others may wait. */
export interface AdmissionOptions {
  /** Requests worked on at once (default 8). */
  maxConcurrent?: number;
  /** Requests waiting for a turn; beyond it, 503 `overloaded` at once (default 1024). */
  maxQueue?: number;
  /** Longest wait for a turn before 503 `overloaded`, ms (default 2500: below the gateway's 5 s origin timeout). */
  maxWaitMs?: number;
}

/** A request the Play API turned away without starting it: retry later. */
export class Overloaded extends Error {
  readonly code = 'overloaded';
  constructor(reason: string) {
    super(`the Play API is overloaded (${reason}); retry later`);
    this.name = 'Overloaded';
  }
}

/**
 * Admission control in front of the Play API's work: at most `maxConcurrent`
 * requests fan out to the microservices at once, the rest wait in a bounded
 * FIFO queue with a deadline. Under more load than the host can serve, the
 * wait grows at the front door instead of inside the commands, whose timeouts
 * then measure the services and not a saturated event loop — so breakers
 * open for a slow dependency, never for a busy CPU.
 */
export function createAdmission(options: AdmissionOptions = {}) {
  const bulkhead = new Bulkhead({ maxConcurrent: options.maxConcurrent ?? 8, maxQueue: options.maxQueue ?? 1024 });
  const maxWaitMs = options.maxWaitMs ?? 2500;
  return {
    /** Runs `work` once admitted. @throws {Overloaded} when the queue is full or the wait times out. */
    async run<T>(work: () => Promise<T>, signal: AbortSignal): Promise<T> {
      if (!bulkhead.tryAcquire()) {
        let admitted: boolean;
        try {
          admitted = await bulkhead.acquire(AbortSignal.any([signal, AbortSignal.timeout(maxWaitMs)]));
        } catch (error) {
          if (signal.aborted) throw error;
          throw new Overloaded(`waited ${maxWaitMs} ms for a turn`);
        }
        if (!admitted) throw new Overloaded(`${bulkhead.maxQueue} requests queued already`);
      }
      try {
        return await work();
      } finally {
        bulkhead.release();
      }
    },
    /** Requests worked on and waiting now. */
    get load() {
      return { active: bulkhead.active, queued: bulkhead.queued, rejected: bulkhead.rejected };
    },
  };
}
