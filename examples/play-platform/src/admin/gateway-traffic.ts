/**
 * Per-route traffic of the gateways, read from their Prometheus text (the
 * gateway's `registerPrometheusMetrics` families, from a registry in process or
 * each instance's admin `/metrics`), and
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
  /** Requests its rate limit let through because the limit's store failed (`onStoreError: failOpen`). */
  failOpen?: number | undefined;
  /** Requests its rate limit answered 503 because the limit's store failed (`onStoreError: failClosed`). */
  failClosed?: number | undefined;
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
  /** Requests since start decided by the rate limit's fallback while its store failed: let through, or answered 503. */
  rateLimitFallbacks: { failOpen: number; failClosed: number };
  inflight: number;
  /** Latency percentiles over the window, as the histogram bucket holding them (ms, upper bound). */
  p50Ms: number | null;
  p99Ms: number | null;
}

const LINE = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/;
const LABEL = /(\w+)="((?:[^"\\]|\\.)*)"/g;

/**
 * Reads the gateway's per-route families of a Prometheus text into counters per
 * route: `backlot_gateway_requests_total{route,status_class}`,
 * `backlot_gateway_request_duration_seconds_bucket{route,le}`,
 * `backlot_gateway_route_inflight{route}`, `backlot_gateway_route_shed_total{route}` and
 * `backlot_gateway_rate_limit_fallbacks_total{route,store,mode}` (summed over stores).
 */
export function parseRouteCounters(text: string): Map<string, RouteCounters> {
  const routes = new Map<string, RouteCounters>();
  const of = (route: string) => {
    let counters = routes.get(route);
    if (!counters) {
      counters = { byClass: {}, buckets: [], inflight: 0, shed: 0, failOpen: 0, failClosed: 0 };
      routes.set(route, counters);
    }
    return counters;
  };
  for (const line of text.split('\n')) {
    const match = LINE.exec(line);
    if (!match?.[1]?.startsWith('backlot_gateway_')) continue;
    const labels = Object.fromEntries([...(match[2] ?? '').matchAll(LABEL)].map((m) => [m[1], m[2]]));
    if (labels.route === undefined) continue;
    const value = Number(match[3]);
    const counters = of(labels.route);
    switch (match[1]) {
      case 'backlot_gateway_requests_total':
        counters.byClass[labels.status_class ?? '?'] = value;
        break;
      case 'backlot_gateway_request_duration_seconds_bucket':
        counters.buckets.push([labels.le === '+Inf' ? Number.POSITIVE_INFINITY : Number(labels.le), value]);
        break;
      case 'backlot_gateway_route_inflight':
        counters.inflight = value;
        break;
      case 'backlot_gateway_route_shed_total':
        counters.shed = value;
        break;
      case 'backlot_gateway_rate_limit_fallbacks_total':
        if (labels.mode === 'failOpen') counters.failOpen = (counters.failOpen ?? 0) + value;
        else if (labels.mode === 'failClosed') counters.failClosed = (counters.failClosed ?? 0) + value;
        break;
    }
  }
  return routes;
}

/** Counters of several gateway processes: process (name with its pid) → route → counters. */
export type CountersBySource = Map<string, Map<string, RouteCounters>>;

/**
 * How much a counter grew between two scrapes of one process, as Prometheus'
 * `increase()` counts it: a counter never goes down, so a lower value means
 * the process restarted and counted from zero again; a process seen for the
 * first time counted everything it has since it started. Never negative.
 */
export function counterIncrease(before: number | undefined, now: number): number {
  if (!(now >= 0)) return 0;
  if (before === undefined || now < before) return now;
  return now - before;
}

const emptyCounters = (buckets: [number, number][]): RouteCounters => ({
  byClass: {},
  buckets: buckets.map(([le]) => [le, 0]),
  inflight: 0,
  shed: 0,
  failOpen: 0,
  failClosed: 0,
});

const total = (c: RouteCounters | undefined) => Object.values(c?.byClass ?? {}).reduce((a, b) => a + b, 0);

/** The increase of one route's counters of one process; a drop of any of them is a reset of all. */
function routeIncrease(before: RouteCounters | undefined, now: RouteCounters): RouteCounters {
  const reset =
    before !== undefined &&
    (total(now) < total(before) ||
      now.shed < before.shed ||
      (now.buckets.at(-1)?.[1] ?? 0) < (before.buckets.at(-1)?.[1] ?? 0));
  const base = reset ? undefined : before;
  return {
    byClass: Object.fromEntries(
      Object.entries(now.byClass).map(([cls, n]) => [
        cls,
        counterIncrease(base ? (base.byClass[cls] ?? 0) : undefined, n),
      ]),
    ),
    buckets: now.buckets.map(([le, n], i) => [le, counterIncrease(base ? (base.buckets[i]?.[1] ?? 0) : undefined, n)]),
    inflight: now.inflight,
    shed: counterIncrease(base?.shed, now.shed),
    failOpen: counterIncrease(base ? (base.failOpen ?? 0) : undefined, now.failOpen ?? 0),
    failClosed: counterIncrease(base ? (base.failClosed ?? 0) : undefined, now.failClosed ?? 0),
  };
}

/** Adds `increase` into `into`, route by route. */
function addInto(into: Map<string, RouteCounters>, route: string, increase: RouteCounters): void {
  const sum = into.get(route) ?? emptyCounters(increase.buckets);
  for (const [cls, n] of Object.entries(increase.byClass)) sum.byClass[cls] = (sum.byClass[cls] ?? 0) + n;
  increase.buckets.forEach(([, n], i) => {
    const bucket = sum.buckets[i];
    if (bucket) bucket[1] += n;
  });
  sum.shed += increase.shed;
  sum.failOpen = (sum.failOpen ?? 0) + (increase.failOpen ?? 0);
  sum.failClosed = (sum.failClosed ?? 0) + (increase.failClosed ?? 0);
  into.set(route, sum);
}

function percentile(increase: RouteCounters, q: number): number | null {
  const count = increase.buckets.at(-1)?.[1] ?? 0;
  if (count <= 0) return null;
  const bucket = increase.buckets.find(([, n]) => n >= q * count);
  if (!bucket) return null;
  return Number.isFinite(bucket[0]) ? bucket[0] * 1000 : Number.POSITIVE_INFINITY;
}

/**
 * Keeps recent scrapes of each gateway process and answers each route's
 * traffic over the last `windowMs` (default 10 s, Hystrix's rolling window).
 * Counters are differenced per process, never summed first: a process that
 * was killed stops adding (its past requests stay counted), a restarted or
 * replacement process counts from zero — rates are never negative and
 * totals never fall.
 */
export class TrafficWindow {
  /** Per scrape: when, and how much each route grew since the previous scrape (all processes). */
  readonly #samples: { at: number; increase: Map<string, RouteCounters> }[] = [];
  /** The last counters seen of each process. */
  readonly #last = new Map<string, Map<string, RouteCounters>>();
  /** Requests since start by route and status class, over every process that ever answered. */
  readonly #totals = new Map<string, Record<string, number>>();
  /** Rate-limit fallbacks since start by route, over every process that ever answered. */
  readonly #fallbacks = new Map<string, { failOpen: number; failClosed: number }>();
  readonly windowMs: number;
  constructor(windowMs = 10_000) {
    this.windowMs = windowMs;
  }

  /** Adds a scrape taken at `at` (ms) of the processes that answered, and answers the traffic over the window ending there. */
  add(at: number, sources: CountersBySource): RouteTraffic[] {
    const increase = new Map<string, RouteCounters>();
    const inflight = new Map<string, number>();
    for (const [source, routes] of sources) {
      const last = this.#last.get(source);
      for (const [route, now] of routes) {
        addInto(increase, route, routeIncrease(last?.get(route), now));
        inflight.set(route, (inflight.get(route) ?? 0) + now.inflight);
      }
      this.#last.set(source, routes);
    }
    for (const [route, grown] of increase) {
      const totals = this.#totals.get(route) ?? {};
      for (const [cls, n] of Object.entries(grown.byClass)) totals[cls] = (totals[cls] ?? 0) + n;
      this.#totals.set(route, totals);
      const fallbacks = this.#fallbacks.get(route) ?? { failOpen: 0, failClosed: 0 };
      fallbacks.failOpen += grown.failOpen ?? 0;
      fallbacks.failClosed += grown.failClosed ?? 0;
      this.#fallbacks.set(route, fallbacks);
    }
    this.#samples.push({ at, increase });
    while (this.#samples.length > 2 && (this.#samples[1]?.at ?? at) <= at - this.windowMs) this.#samples.shift();

    // The oldest kept scrape is the window's start: the increases after it are the window's traffic.
    const oldest = this.#samples[0];
    const seconds = oldest && oldest.at < at ? (at - oldest.at) / 1000 : 0;
    const windowed = new Map<string, RouteCounters>();
    for (const sample of this.#samples.slice(1)) {
      for (const [route, grown] of sample.increase) addInto(windowed, route, grown);
    }
    const routes = new Set([...this.#totals.keys()]);
    return [...routes].map((route) => {
      const grown = windowed.get(route);
      const requests = total(grown);
      const errors = grown?.byClass['5xx'] ?? 0;
      return {
        route,
        rps: seconds > 0 ? requests / seconds : 0,
        total: { ...this.#totals.get(route) },
        errorPercent: requests > 0 ? Math.round((errors / requests) * 100) : 0,
        shedPerSecond: seconds > 0 ? (grown?.shed ?? 0) / seconds : 0,
        rateLimitFallbacks: { ...(this.#fallbacks.get(route) ?? { failOpen: 0, failClosed: 0 }) },
        inflight: inflight.get(route) ?? 0,
        p50Ms: seconds > 0 && grown ? percentile(grown, 0.5) : null,
        p99Ms: seconds > 0 && grown ? percentile(grown, 0.99) : null,
      };
    });
  }
}

/**
 * Rate-limit store errors in one gateway's Prometheus text: the sum of
 * `backlot_gateway_rate_limit_store_errors_total{store,reason}` (failed calls
 * and calls past `storeTimeoutMs`, every store).
 */
export function parseStoreErrors(text: string): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    const match = LINE.exec(line);
    if (match?.[1] === 'backlot_gateway_rate_limit_store_errors_total') sum += Number(match[3]) || 0;
  }
  return sum;
}
