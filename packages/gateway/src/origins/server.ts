import type { Pool } from 'undici';

/** One server of an origin, with its connection pool and health state. */
export class OriginServer {
  /** The server's base URL. */
  readonly url: URL;
  /** Base path prepended to upstream paths (`''` for none). */
  readonly basePath: string;
  /** Weight for the `weighted` balancer. */
  readonly weight: number;
  /** The undici pool to the server. */
  readonly pool: Pool;
  /** Requests in flight on this server (for least-outstanding). */
  outstanding = 0;
  /** Set by active health checks. */
  healthy = true;
  /** Passive outlier ejection: ejected until this time (ms, `performance.now()` clock). */
  ejectedUntil = 0;
  /** Consecutive gateway errors (connect failures, resets, timeouts, 5xx). */
  consecutiveErrors = 0;
  /** Times ejected, to grow the ejection time. */
  ejections = 0;
  /** @internal smooth weighted round-robin state */
  currentWeight = 0;

  constructor(url: string, weight: number, pool: Pool) {
    this.url = new URL(url);
    const path = this.url.pathname.endsWith('/') ? this.url.pathname.slice(0, -1) : this.url.pathname;
    this.basePath = path === '/' ? '' : path;
    this.weight = weight;
    this.pool = pool;
  }

  /** Whether the balancer may pick the server now. */
  available(now: number): boolean {
    return this.healthy && this.ejectedUntil <= now;
  }
}
