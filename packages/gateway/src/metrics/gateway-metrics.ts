import { LatencyHistogram } from '@backlot/resilience';
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

const escapeLabel = (value: string) => value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

/**
 * The gateway's traffic metrics, per route and per origin: requests by
 * status class, latency histograms, in-flight, retries and shed requests.
 * Plain counters updated in place; text is only built when scraped.
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

  /**
   * The 0.x text of these counters (`backlot_gateway_route_*`,
   * `backlot_gateway_origin_*`), kept for `gateway.metrics()` while in-process
   * dashboards parse it. Scrapers use the prom-client families
   * (`registerPrometheusMetrics`, admin `/metrics`).
   * @deprecated
   */
  render(prefix = 'backlot_gateway'): string {
    const lines: string[] = [];
    const family = (kind: string, label: string, stats: Map<string, TrafficStats>) => {
      const n = `${prefix}_${kind}`;
      lines.push(
        `# HELP ${n}_requests_total Requests by ${kind} and status class.`,
        `# TYPE ${n}_requests_total counter`,
      );
      for (const [id, s] of stats) {
        s.byClass.forEach((count, i) => {
          if (count) lines.push(`${n}_requests_total{${label}="${escapeLabel(id)}",code="${i + 1}xx"} ${count}`);
        });
      }
      lines.push(
        `# HELP ${n}_request_duration_seconds Request latency.`,
        `# TYPE ${n}_request_duration_seconds histogram`,
      );
      for (const [id, s] of stats) {
        const l = `${label}="${escapeLabel(id)}"`;
        const { buckets, sum, count } = s.latency.data();
        for (const [le, cumulative] of buckets) {
          lines.push(`${n}_request_duration_seconds_bucket{${l},le="${le}"} ${cumulative}`);
        }
        lines.push(`${n}_request_duration_seconds_bucket{${l},le="+Inf"} ${count}`);
        lines.push(`${n}_request_duration_seconds_sum{${l}} ${sum}`);
        lines.push(`${n}_request_duration_seconds_count{${l}} ${count}`);
      }
      for (const [metric, help, type, get] of [
        ['inflight', 'Requests in flight.', 'gauge', (s: TrafficStats) => s.inflight],
        ['retries_total', 'Retries sent.', 'counter', (s: TrafficStats) => s.retries],
        ['shed_total', 'Requests shed (503).', 'counter', (s: TrafficStats) => s.shed],
      ] as const) {
        lines.push(`# HELP ${n}_${metric} ${help}`, `# TYPE ${n}_${metric} ${type}`);
        for (const [id, s] of stats) lines.push(`${n}_${metric}{${label}="${escapeLabel(id)}"} ${get(s)}`);
      }
    };
    family('route', 'route', this.#routes);
    family('origin', 'origin', this.#origins);
    for (const [metric, help, value] of [
      ['shed_total', 'Requests shed by the gateway-wide concurrency limit.', this.shedGateway],
      ['no_route_total', 'Requests that matched no route.', this.noRoute],
      ['rejected_total', 'Requests refused before routing (bad target or path).', this.rejected],
      ['config_reloads_total', 'Config reloads applied.', this.reloads],
      ['config_reload_failures_total', 'Config reloads refused (invalid).', this.reloadFailures],
    ] as const) {
      lines.push(
        `# HELP ${prefix}_${metric} ${help}`,
        `# TYPE ${prefix}_${metric} counter`,
        `${prefix}_${metric} ${value}`,
      );
    }
    return `${lines.join('\n')}\n`;
  }
}
