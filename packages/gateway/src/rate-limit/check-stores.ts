import type { FilterConfig, GatewayConfig } from '../config/schema.js';
import { InvalidConfigError } from '../errors.js';

/**
 * Checks that every `rateLimit` filter's `store` names a store given in
 * `createGateway`'s `rateLimitStores` (only the names of `stores` are read): a typo would otherwise silently fall
 * back to per-process limits.
 *
 * @throws {InvalidConfigError} naming each filter whose store is unknown.
 * @internal
 */
export function checkRateLimitStores(config: GatewayConfig, stores: Readonly<Record<string, unknown>>): void {
  const issues: string[] = [];
  const known = Object.keys(stores);
  const check = (filters: readonly FilterConfig[], path: string) => {
    filters.forEach((filter, i) => {
      if (filter.type !== 'rateLimit' || filter.store === undefined || Object.hasOwn(stores, filter.store)) return;
      issues.push(
        `${path}[${i}].store: no rate-limit store named '${filter.store}'; ` +
          (known.length
            ? `known: ${known.map((name) => `'${name}'`).join(', ')}`
            : `pass it as createGateway(config, { rateLimitStores: { ${filter.store}: new RedisRateLimitStore({ url }) } })`),
      );
    });
  };
  check(config.filters, 'filters');
  config.routes.forEach((route, r) => {
    check(route.filters, `routes[${r}].filters`);
  });
  if (issues.length) throw new InvalidConfigError(issues);
}

/**
 * Checks `createGateway`'s `rateLimitStores`: each must be a store (an object
 * with a `take` function), so that a wrong object is refused at creation
 * instead of failing every request into its fallback.
 *
 * @throws {InvalidConfigError} naming each bad entry.
 * @internal
 */
export function checkStoreObjects(stores: Readonly<Record<string, unknown>> | undefined): void {
  if (stores === undefined) return;
  const issues = Object.entries(stores)
    .filter(([, store]) => typeof (store as { take?: unknown } | null)?.take !== 'function')
    .map(
      ([name]) =>
        `rateLimitStores.${name}: must be a rate-limit store (an object with take(key, bucket)), e.g. new RedisRateLimitStore({ url })`,
    );
  if (issues.length) throw new InvalidConfigError(issues);
}
