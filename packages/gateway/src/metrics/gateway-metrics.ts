/** Latency histogram buckets, in seconds. */
export const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;

/** Counters of one route or origin. */
export class TrafficStats {
  /** Requests by status class: index 0 = 1xx … 4 = 5xx. */
  readonly byClass = new Float64Array(5);
  /** Cumulative histogram bucket counts (last = +Inf). */
  readonly buckets = new Float64Array(LATENCY_BUCKETS.length + 1);
  latencySum = 0;
  inflight = 0;
  retries = 0;
  shed = 0;

  /** Records one finished request. */
  record(status: number, seconds: number): void {
    const cls = Math.min(Math.max(Math.floor(status / 100) - 1, 0), 4);
    this.byClass[cls] = (this.byClass[cls] as number) + 1;
    let i = 0;
    while (i < LATENCY_BUCKETS.length && seconds > (LATENCY_BUCKETS[i] as number)) i++;
    this.buckets[i] = (this.buckets[i] as number) + 1;
    this.latencySum += seconds;
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

  /** Prometheus text exposition (format 0.0.4). */
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
        let cumulative = 0;
        const l = `${label}="${escapeLabel(id)}"`;
        LATENCY_BUCKETS.forEach((le, i) => {
          cumulative += s.buckets[i] as number;
          lines.push(`${n}_request_duration_seconds_bucket{${l},le="${le}"} ${cumulative}`);
        });
        cumulative += s.buckets[LATENCY_BUCKETS.length] as number;
        lines.push(`${n}_request_duration_seconds_bucket{${l},le="+Inf"} ${cumulative}`);
        lines.push(`${n}_request_duration_seconds_sum{${l}} ${s.latencySum}`);
        lines.push(`${n}_request_duration_seconds_count{${l}} ${cumulative}`);
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
