import {
  type PrometheusCollector,
  type PrometheusHistogramSample,
  type PrometheusRegistry,
  type PrometheusSample,
  prometheusCounter,
  prometheusGauge,
  prometheusHistogram,
  prometheusRegistry,
  registerCollectors,
} from '@backlot/metrics-core';
import {
  type CommandRegistry,
  ResilienceError,
  registerPrometheusMetrics as registerCommandMetrics,
} from '@backlot/resilience';
import type { GatewayMetrics, TrafficStats } from './gateway-metrics.js';

/** What one gateway contributes to the families: its counters and its origins' command registry. */
export interface GatewayMetricsSource {
  readonly metrics: GatewayMetrics;
  readonly registry: CommandRegistry;
}

/** Gateways created and not yet closed, by gateway: the default source of {@link registerPrometheusMetrics}. @internal */
export const liveGateways = new Map<object, GatewayMetricsSource>();

/**
 * Every gateway's source, closed ones included, held weakly: a gateway named
 * in `gateways` keeps exposing its final counts after `close()`. @internal
 */
export const gatewaySources = new WeakMap<object, GatewayMetricsSource>();

/** Adds a new gateway to the live ones (`close()` removes it from {@link liveGateways}). @internal */
export function trackGateway(gateway: object, source: GatewayMetricsSource): void {
  liveGateways.set(gateway, source);
  gatewaySources.set(gateway, source);
}

const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'] as const;

function traffic(
  kind: 'route' | 'origin',
  sources: () => Iterable<GatewayMetricsSource>,
): { requests: () => Iterable<PrometheusSample>; latency: () => Iterable<PrometheusHistogramSample> } {
  const stats = (metrics: GatewayMetrics) => (kind === 'route' ? metrics.routes : metrics.origins);
  return {
    requests: function* () {
      for (const source of sources()) {
        for (const [id, s] of stats(source.metrics)) {
          for (let i = 0; i < STATUS_CLASSES.length; i++) {
            const count = s.byClass[i] as number;
            if (count) yield [{ [kind]: id, status_class: STATUS_CLASSES[i] as string }, count];
          }
        }
      }
    },
    latency: function* () {
      for (const source of sources()) {
        for (const [id, s] of stats(source.metrics)) yield [{ [kind]: id }, s.latency.data()];
      }
    },
  };
}

function perStats(
  kind: 'route' | 'origin',
  sources: () => Iterable<GatewayMetricsSource>,
  read: (stats: TrafficStats) => number,
): () => Iterable<PrometheusSample> {
  return function* () {
    for (const source of sources()) {
      for (const [id, s] of kind === 'route' ? source.metrics.routes : source.metrics.origins)
        yield [{ [kind]: id }, read(s)];
    }
  };
}

function total(
  sources: () => Iterable<GatewayMetricsSource>,
  read: (metrics: GatewayMetrics) => number,
): () => Iterable<PrometheusSample> {
  return () => {
    let sum = 0;
    for (const source of sources()) sum += read(source.metrics);
    return [[{}, sum]];
  };
}

/** The gateway's metric families over `sources`, read when scraped. @internal */
export function gatewayCollectors(sources: () => Iterable<GatewayMetricsSource>): PrometheusCollector[] {
  const routes = traffic('route', sources);
  const origins = traffic('origin', sources);
  return [
    prometheusCounter(
      'backlot_gateway_requests_total',
      'Requests answered, by route and status class.',
      routes.requests,
    ),
    prometheusHistogram(
      'backlot_gateway_request_duration_seconds',
      'Request latency, by route (until the response is written or the client goes away).',
      routes.latency,
    ),
    prometheusGauge(
      'backlot_gateway_inflight',
      'Requests in flight in the gateway now.',
      total(sources, (m) => m.inflight()),
    ),
    prometheusGauge(
      'backlot_gateway_route_inflight',
      'Requests in flight now, by route.',
      perStats('route', sources, (s) => s.inflight),
    ),
    prometheusCounter(
      'backlot_gateway_route_shed_total',
      "Requests shed (503) by a route's concurrency limit.",
      perStats('route', sources, (s) => s.shed),
    ),
    prometheusCounter(
      'backlot_gateway_origin_requests_total',
      'Origin attempts answered, by origin and status class.',
      origins.requests,
    ),
    prometheusHistogram(
      'backlot_gateway_origin_request_duration_seconds',
      'Origin attempt latency, by origin.',
      origins.latency,
    ),
    prometheusGauge(
      'backlot_gateway_origin_inflight',
      'Origin attempts in flight now, by origin.',
      perStats('origin', sources, (s) => s.inflight),
    ),
    prometheusCounter(
      'backlot_gateway_origin_retries_total',
      'Retries sent, by origin.',
      perStats('origin', sources, (s) => s.retries),
    ),
    prometheusCounter(
      'backlot_gateway_shed_total',
      'Requests shed (503) by the gateway-wide concurrency limit.',
      total(sources, (m) => m.shedGateway),
    ),
    prometheusCounter(
      'backlot_gateway_no_route_total',
      'Requests that matched no route.',
      total(sources, (m) => m.noRoute),
    ),
    prometheusCounter(
      'backlot_gateway_rejected_total',
      'Requests refused before routing (bad target or path).',
      total(sources, (m) => m.rejected),
    ),
    prometheusCounter(
      'backlot_gateway_config_reloads_total',
      'Config reloads applied.',
      total(sources, (m) => m.reloads),
    ),
    prometheusCounter(
      'backlot_gateway_config_reload_failures_total',
      'Config reloads refused (invalid).',
      total(sources, (m) => m.reloadFailures),
    ),
    prometheusCounter(
      'backlot_gateway_rate_limit_store_errors_total',
      'Rate-limit store calls that failed or missed storeTimeoutMs, by store and reason (error, timeout).',
      function* () {
        for (const source of sources()) yield* source.metrics.rateLimit.storeErrors.values();
      },
    ),
    prometheusCounter(
      'backlot_gateway_rate_limit_fallbacks_total',
      "Requests decided by a rate limit's onStoreError (failOpen passed, failClosed answered 503), by route, store and mode.",
      function* () {
        for (const source of sources()) yield* source.metrics.rateLimit.fallbacks.values();
      },
    ),
  ];
}

/** Options of {@link registerPrometheusMetrics}. */
export interface RegisterGatewayPrometheusOptions {
  /** The gateways to expose (default: every gateway of the process not yet closed, read at each scrape). */
  gateways?: readonly object[] | undefined;
  /** Also register the origins' resilience command families (default `true`). */
  commands?: boolean | undefined;
}

/**
 * Registers the gateway's metric families in a prom-client `Registry`
 * (default: prom-client's global `register`) as collectors read at scrape
 * time, and (unless `commands: false`) the resilience families of the
 * origin commands of those gateways (the ones existing at the call). Returns the function that unregisters them.
 *
 * Families: `backlot_gateway_requests_total{route,status_class}`,
 * `backlot_gateway_request_duration_seconds{route}` (histogram),
 * `backlot_gateway_inflight`, `backlot_gateway_route_inflight{route}`,
 * `backlot_gateway_route_shed_total{route}`,
 * `backlot_gateway_origin_requests_total{origin,status_class}`,
 * `backlot_gateway_origin_request_duration_seconds{origin}`,
 * `backlot_gateway_origin_inflight{origin}`,
 * `backlot_gateway_origin_retries_total{origin}`, `backlot_gateway_shed_total`,
 * `backlot_gateway_no_route_total`, `backlot_gateway_rejected_total`,
 * `backlot_gateway_config_reloads_total`, `backlot_gateway_config_reload_failures_total`,
 * `backlot_gateway_rate_limit_store_errors_total{store,reason}`,
 * `backlot_gateway_rate_limit_fallbacks_total{route,store,mode}`.
 *
 * Gateways named in `gateways` keep exposing their final counts once closed;
 * by default the families cover the gateways not yet closed.
 *
 * @throws {ResilienceError} `BACKLOT_MISSING_PEER` without `registry` when prom-client is not installed.
 */
export function registerPrometheusMetrics(
  registry?: PrometheusRegistry,
  options: RegisterGatewayPrometheusOptions = {},
): () => void {
  const target = prometheusRegistry(
    registry,
    (message, cause) => new ResilienceError('BACKLOT_MISSING_PEER', message, { cause }),
  );
  const chosen = options.gateways;
  const sources = chosen ? () => chosen.flatMap((g) => gatewaySources.get(g) ?? []) : () => liveGateways.values();
  const unregisterGateway = registerCollectors(target, gatewayCollectors(sources));
  if (options.commands === false) return unregisterGateway;
  let unregisterCommands: () => void;
  try {
    const registries = [...new Set([...(chosen ? sources() : liveGateways.values())].map((g) => g.registry))];
    unregisterCommands = registerCommandMetrics(target, { commands: registries });
  } catch (error) {
    unregisterGateway();
    throw error;
  }
  return () => {
    unregisterGateway();
    unregisterCommands();
  };
}
