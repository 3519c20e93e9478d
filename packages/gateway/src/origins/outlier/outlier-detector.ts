import type { OriginServer } from '../server.js';

/** Options of {@link OutlierDetector}. */
export interface OutlierOptions {
  enabled: boolean;
  /** Consecutive gateway errors before a server is ejected. */
  consecutiveErrors: number;
  /** First ejection time; the n-th ejection lasts n × this. */
  baseEjectionMs: number;
  /** Never eject more than this share of the servers. */
  maxEjectionPercent: number;
}

/**
 * Passive outlier ejection (Envoy's consecutive gateway errors): a server
 * that fails `consecutiveErrors` times in a row (connect errors, resets,
 * timeouts, 502/503/504) is taken out of the rotation for
 * `baseEjectionMs × ejections`, never more than `maxEjectionPercent` of
 * the servers at once.
 */
export class OutlierDetector {
  readonly #options: OutlierOptions;
  readonly #servers: readonly OriginServer[];
  readonly #now: () => number;

  constructor(options: OutlierOptions, servers: readonly OriginServer[], now: () => number) {
    this.#options = options;
    this.#servers = servers;
    this.#now = now;
  }

  /** Records one outcome for `server`. */
  record(server: OriginServer, failed: boolean): void {
    if (!failed) {
      server.consecutiveErrors = 0;
      return;
    }
    if (!this.#options.enabled) return;
    server.consecutiveErrors++;
    if (server.consecutiveErrors < this.#options.consecutiveErrors) return;
    const now = this.#now();
    if (server.ejectedUntil > now) return;
    const ejected = this.#servers.filter((s) => s.ejectedUntil > now).length;
    if (((ejected + 1) / this.#servers.length) * 100 > this.#options.maxEjectionPercent) return;
    server.ejections++;
    server.consecutiveErrors = 0;
    server.ejectedUntil = now + this.#options.baseEjectionMs * server.ejections;
  }
}
