/**
 * Per-route traffic of the gateways, read from their Prometheus text
 * (`gateway.metrics()` in process, or each instance's admin `/metrics`), and
 * turned into rates and latency percentiles over a rolling window by
 * differencing samples, as a Prometheus `rate()` would.
 */

/** Cumulative counters of one route, as scraped. */
export interface RouteCounters {
  /** Requests by status class: `2xx` → count. */
  byClass: Record<string, number>;
  /** Histogram bucket upper bounds (seconds, `Infinity` last) and cumulative counts. */
  buckets: [number, number][];
  inflight: number;
  shed: number;
  retries: number;
}

/** A route's traffic over the rolling window. */
export interface RouteTraffic {
  route: string;
  /** Requests per second over the window. */
  rps: number;
  /** Requests since start, by status class. */
  total: Record<string, number>;
  /** Share of 5xx answers over the window, in percent. */
  errorPercent: number;
  /** Shed requests per second over the window (503 from the gateway's limits). */
  shedPerSecond: number;
  inflight: number;
  /** Latency percentiles over the window, as the histogram bucket holding them (ms, upper bound). */
  p50Ms: number | null;
  p99Ms: number | null;
}

const LINE = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/;
const LABEL = /(\w+)="((?:[^"\\]|\\.)*)"/g;

/** Reads the `backlot_gateway_route_*` families of a Prometheus text into counters per route. */
export function parseRouteCounters(text: string): Map<string, RouteCounters> {
  const routes = new Map<string, RouteCounters>();
  const of = (route: string) => {
    let counters = routes.get(route);
    if (!counters) {
      counters = { byClass: {}, buckets: [], inflight: 0, shed: 0, retries: 0 };
      routes.set(route, counters);
    }
    return counters;
  };
  for (const line of text.split('\n')) {
    const match = LINE.exec(line);
    if (!match?.[1]?.startsWith('backlot_gateway_route_')) continue;
    const labels = Object.fromEntries([...(match[2] ?? '').matchAll(LABEL)].map((m) => [m[1], m[2]]));
    if (labels.route === undefined) continue;
    const value = Number(match[3]);
    const counters = of(labels.route);
    switch (match[1].slice('backlot_gateway_route_'.length)) {
      case 'requests_total':
        counters.byClass[labels.code ?? '?'] = value;
        break;
      case 'request_duration_seconds_bucket':
        counters.buckets.push([labels.le === '+Inf' ? Number.POSITIVE_INFINITY : Number(labels.le), value]);
        break;
      case 'inflight':
        counters.inflight = value;
        break;
      case 'shed_total':
        counters.shed = value;
        break;
      case 'retries_total':
        counters.retries = value;
        break;
    }
  }
  return routes;
}

/** Sums the counters of several gateways (a fleet), route by route. */
export function sumRouteCounters(all: Map<string, RouteCounters>[]): Map<string, RouteCounters> {
  const sum = new Map<string, RouteCounters>();
  for (const routes of all) {
    for (const [route, c] of routes) {
      const into = sum.get(route) ?? {
        byClass: {},
        buckets: c.buckets.map(([le]) => [le, 0]),
        inflight: 0,
        shed: 0,
        retries: 0,
      };
      for (const [cls, n] of Object.entries(c.byClass)) into.byClass[cls] = (into.byClass[cls] ?? 0) + n;
      c.buckets.forEach(([, n], i) => {
        const bucket = into.buckets[i];
        if (bucket) bucket[1] += n;
      });
      into.inflight += c.inflight;
      into.shed += c.shed;
      into.retries += c.retries;
      sum.set(route, into);
    }
  }
  return sum;
}

const total = (c: RouteCounters | undefined) => Object.values(c?.byClass ?? {}).reduce((a, b) => a + b, 0);

function percentile(now: RouteCounters, before: RouteCounters | undefined, q: number): number | null {
  const deltas = now.buckets.map(([le, n], i) => [le, n - (before?.buckets[i]?.[1] ?? 0)] as const);
  const count = deltas.at(-1)?.[1] ?? 0;
  if (count <= 0) return null;
  const bucket = deltas.find(([, n]) => n >= q * count);
  if (!bucket) return null;
  return Number.isFinite(bucket[0]) ? bucket[0] * 1000 : Number.POSITIVE_INFINITY;
}

/**
 * Keeps recent samples of the counters and answers each route's traffic over
 * the last `windowMs` (default 10 s, Hystrix's rolling window).
 */
export class TrafficWindow {
  readonly #samples: { at: number; routes: Map<string, RouteCounters> }[] = [];
  readonly windowMs: number;
  constructor(windowMs = 10_000) {
    this.windowMs = windowMs;
  }

  /** Adds a sample taken at `at` (ms) and answers the traffic over the window ending there. */
  add(at: number, routes: Map<string, RouteCounters>): RouteTraffic[] {
    this.#samples.push({ at, routes });
    while (this.#samples.length > 2 && (this.#samples[1]?.at ?? at) <= at - this.windowMs) this.#samples.shift();
    const oldest = this.#samples[0];
    const seconds = oldest && oldest.at < at ? (at - oldest.at) / 1000 : 0;
    return [...routes].map(([route, now]) => {
      const before = oldest && oldest.at < at ? oldest.routes.get(route) : undefined;
      const requests = total(now) - total(before);
      const errors = (now.byClass['5xx'] ?? 0) - (before?.byClass['5xx'] ?? 0);
      return {
        route,
        rps: seconds > 0 ? requests / seconds : 0,
        total: now.byClass,
        errorPercent: requests > 0 ? Math.round((errors / requests) * 100) : 0,
        shedPerSecond: seconds > 0 ? (now.shed - (before?.shed ?? 0)) / seconds : 0,
        inflight: now.inflight,
        p50Ms: seconds > 0 ? percentile(now, before, 0.5) : null,
        p99Ms: seconds > 0 ? percentile(now, before, 0.99) : null,
      };
    });
  }
}
