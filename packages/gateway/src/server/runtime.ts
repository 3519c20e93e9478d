import { AdaptiveLimiter, type CommandRegistry } from '@backlot/resilience';
import { type GatewayConfig, type OriginConfig, originSchema } from '../config/schema.js';
import { type BuiltinFilterDeps, builtinFilters } from '../filters/builtin/index.js';
import { buildChains, type Filter, type FilterChains } from '../filters/filter.js';
import type { OriginChainBuilder } from '../origins/chain/origin-chain.js';
import { limitAlgorithm, Origin } from '../origins/origin.js';
import { TrustedProxies } from '../proxy/client-ip.js';
import { checkRateLimitStores } from '../rate-limit/check-stores.js';
import { RouteTable } from '../routing/route-table.js';
import { PathPolicy } from '../security/path-policy.js';

/** Everything a request needs, built from one config and swapped as a whole on reload. @internal */
export interface Runtime {
  readonly config: GatewayConfig;
  readonly table: RouteTable;
  readonly origins: ReadonlyMap<string, Origin>;
  readonly chains: ReadonlyMap<string, FilterChains>;
  readonly globalChains: FilterChains;
  readonly trusted: TrustedProxies;
  readonly limiter: AdaptiveLimiter | undefined;
  /** The strict-path check (`server.strictPaths`), when it can refuse anything. */
  readonly pathPolicy: PathPolicy | undefined;
  /** Origin identity (name + config) → origin, to reuse pools across reloads. */
  readonly originKeys: ReadonlyMap<string, Origin>;
}

const isUrl = (name: string) => /^https?:\/\//.test(name);

/** The origins a config needs: named ones, plus one per URL used directly by a route. */
function originConfigs(config: GatewayConfig): Map<string, OriginConfig> {
  const out = new Map<string, OriginConfig>(Object.entries(config.origins));
  for (const route of config.routes) {
    for (const name of [
      route.origin,
      ...(route.splits ?? []).map((s) => s.origin),
      ...(route.surgical ?? []).map((s) => s.origin),
    ]) {
      if (name !== undefined && isUrl(name) && !out.has(name)) {
        out.set(
          name,
          originSchema.parse({
            servers: [name],
            timeoutMs: config.defaults.timeoutMs,
            connections: config.defaults.connections,
          }),
        );
      }
    }
  }
  return out;
}

/** What a gateway builds every runtime with, beside the config: the parts that are code. */
export interface RuntimeParts {
  /** Filters written in code. */
  readonly userFilters: readonly Filter[];
  /** Where the origins' commands live. */
  readonly registry: CommandRegistry;
  /** The last generation of each origin name (updated here). */
  readonly generations: Map<string, number>;
  /** Changes each origin's chain of interceptors. */
  readonly originChain: OriginChainBuilder | undefined;
}

/**
 * Builds a runtime from a validated config, reusing the previous runtime's
 * origins whose config did not change (their pools, breakers and health
 * state carry over). Returns the origins the new runtime no longer uses.
 */
export function buildRuntime(
  config: GatewayConfig,
  parts: RuntimeParts,
  previous?: Runtime,
  filterDeps: Omit<BuiltinFilterDeps, 'scope'> = {},
): { runtime: Runtime; retired: Origin[] } {
  checkRateLimitStores(config, filterDeps.rateLimitStores ?? {});
  const { userFilters, registry, generations } = parts;
  const origins = new Map<string, Origin>();
  const originKeys = new Map<string, Origin>();
  const created: Origin[] = [];
  try {
    for (const [name, originConfig] of originConfigs(config)) {
      const key = `${name}\u0000${JSON.stringify(originConfig)}`;
      let origin = previous?.originKeys.get(key);
      if (!origin) {
        const generation = generations.get(name);
        generations.set(name, generation === undefined ? 0 : generation + 1);
        origin = new Origin(name, originConfig, {
          registry,
          generation: generation === undefined ? 0 : generation + 1,
          chain: parts.originChain,
        });
        created.push(origin);
      }
      origins.set(name, origin);
      originKeys.set(key, origin);
    }
  } catch (error) {
    for (const origin of created) void origin.destroy();
    throw error;
  }
  const globalFilters = [
    ...config.filters.flatMap((filter, i) => builtinFilters(filter, { ...filterDeps, scope: `global#${i}` })),
    ...userFilters,
  ];
  const table = new RouteTable(config.routes);
  const chains = new Map<string, FilterChains>();
  for (const route of table.routes) {
    const routeFilters = route.filters.flatMap((filter, i) =>
      builtinFilters(filter, { ...filterDeps, scope: `route:${route.id}#${i}` }),
    );
    chains.set(route.id, buildChains([...globalFilters, ...routeFilters]));
  }
  const retired = previous ? [...previous.origins.values()].filter((o) => ![...origins.values()].includes(o)) : [];
  return {
    runtime: {
      config,
      table,
      origins,
      chains,
      globalChains: buildChains(globalFilters),
      pathPolicy: PathPolicy.for(config.server.strictPaths, table),
      trusted: new TrustedProxies(config.trustedProxies.cidrs, config.trustedProxies.hops),
      limiter:
        config.concurrencyLimit === false
          ? undefined
          : previous?.limiter &&
              JSON.stringify(previous.config.concurrencyLimit) === JSON.stringify(config.concurrencyLimit)
            ? previous.limiter
            : new AdaptiveLimiter({ limit: limitAlgorithm(config.concurrencyLimit) }),
      originKeys,
    },
    retired,
  };
}
