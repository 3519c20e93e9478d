import { loadPromClient, type PromClientModule, type ServingPrometheusRegistry } from '@backlot/metrics-core';
import { ResilienceError } from '@backlot/resilience';
import { registerPrometheusMetrics } from '../metrics/prometheus.js';

/** One exposition of the admin `/metrics`: its content type and text. */
export interface MetricsExposition {
  contentType: string;
  text: string;
}

const missingPromClient = (message: string, cause: unknown) =>
  new ResilienceError('BACKLOT_MISSING_PEER', `the admin /metrics: ${message}`, { cause });

/**
 * The admin `/metrics` of one gateway: a prom-client registry of its own with
 * Node's default process metrics, the gateway's families and its origins'
 * command families — in the Prometheus text format, or OpenMetrics when the
 * scraper asks for it (`Accept: application/openmetrics-text`). Registries
 * are built on the first scrape.
 * @internal
 */
export function createAdminMetrics(gateway: object): (accept: string | undefined) => Promise<MetricsExposition> {
  const registries = new Map<boolean, ServingPrometheusRegistry>();
  const registryFor = (prom: PromClientModule, openMetrics: boolean): ServingPrometheusRegistry => {
    let registry = registries.get(openMetrics);
    if (!registry) {
      registry = openMetrics ? new prom.Registry(prom.Registry.OPENMETRICS_CONTENT_TYPE) : new prom.Registry();
      prom.collectDefaultMetrics({ register: registry });
      registerPrometheusMetrics(registry, { gateways: [gateway] });
      registries.set(openMetrics, registry);
    }
    return registry;
  };
  return async (accept) => {
    const registry = registryFor(
      loadPromClient(missingPromClient),
      accept?.includes('application/openmetrics-text') ?? false,
    );
    return { contentType: registry.contentType, text: await registry.metrics() };
  };
}
