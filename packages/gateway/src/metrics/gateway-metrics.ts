import { LatencyHistogram } from '@backlot/metrics-core';
import { RateLimitStats } from './rate-limit-stats.js';

/** Counters of one route or origin. */
export class TrafficStats {
  /** Requests by status class: index 0 = 1xx … 4 = 5xx. */
  readonly byClass = new Float64Array(5);
  /** Request latency since start (the SDK's one histogram: Prometheus buckets are read from it when scraped). */
  readonly latency = new LatencyHistogram();
  inflight = 0;
  retries = 0;
  shed = 0;

  /** Records one finished request. */
  record(status: number, seconds: number): void {
    const cls = Math.min(Math.max(Math.floor(status / 100) - 1, 0), 4);
    this.byClass[cls] = (this.byClass[cls] as number) + 1;
    this.latency.recordSeconds(seconds);
  }
}

/**
 * The gateway's traffic metrics, per route and per origin: requests by
 * status class, latency histograms, in-flight, retries and shed requests.
 * Plain counters updated in place; the prom-client collectors of
 * `registerPrometheusMetrics` read them when scraped.
 */
export class GatewayMetrics {
  readonly #routes = new Map<string, TrafficStats>();
  readonly #origins = new Map<string, TrafficStats>();
  /** Requests shed by the gateway-wide concurrency limit. */
  shedGateway = 0;
  /** Requests that matched no route. */
  noRoute = 0;
  /** Requests refused before routing (bad target, path). */
  rejected = 0;
  /** Config reloads applied / refused. */
  reloads = 0;
  reloadFailures = 0;
  /** Rate-limit store errors and fallbacks. */
  readonly rateLimit = new RateLimitStats();
  /** Requests in flight in the gateway now (set by the gateway to read its own count). */
  inflight: () => number = () => 0;

  /** Stats of a route (created on first use). */
  route(id: string): TrafficStats {
    let stats = this.#routes.get(id);
    if (!stats) {
      stats = new TrafficStats();
      this.#routes.set(id, stats);
    }
    return stats;
  }

  /** Stats of an origin (created on first use). */
  origin(name: string): TrafficStats {
    let stats = this.#origins.get(name);
    if (!stats) {
      stats = new TrafficStats();
      this.#origins.set(name, stats);
    }
    return stats;
  }

  /** Routes' stats, by route id. */
  get routes(): ReadonlyMap<string, TrafficStats> {
    return this.#routes;
  }

  /** Origins' stats, by origin name. */
  get origins(): ReadonlyMap<string, TrafficStats> {
    return this.#origins;
  }
}
