import { GatewayError } from '../errors.js';
import type { GatewayContext } from './context.js';

/** Zuul's three filter phases, in the order a request passes them. */
export const FILTER_PHASES = ['inbound', 'endpoint', 'outbound'] as const;

/** A filter phase: `inbound` before routing to an origin, `endpoint` instead of or before the proxy, `outbound` on the response. */
export type FilterPhase = (typeof FILTER_PHASES)[number];

/**
 * A typed filter. Filters of a phase run in ascending `order`; an inbound
 * filter that calls `ctx.respond()` or throws a `GatewayError` stops the
 * inbound chain. Returning a promise is allowed; returning nothing keeps the
 * hot path free of `await`s.
 */
export interface Filter {
  /** A name for errors and logs. */
  readonly name: string;
  /** The phase it runs in. */
  readonly phase: FilterPhase;
  /** Lower runs first (default 0). Built-ins use -1000 (request id) … 0. */
  readonly order?: number | undefined;
  /** Route ids it applies to (default: all routes). */
  readonly routes?: readonly string[] | undefined;
  /** The work. */
  run(ctx: GatewayContext): void | Promise<void>;
}

/**
 * Validates a filter: a typo in `phase` is an error at definition time, not a
 * filter that silently never runs.
 *
 * @throws {GatewayError} `BACKLOT_GATEWAY_INVALID_FILTER` naming the problem.
 * @example
 * ```ts
 * const tagDevice = defineFilter({
 *   name: 'device-tag',
 *   phase: 'inbound',
 *   order: 10,
 *   run(ctx) {
 *     ctx.upstreamHeaders['x-device'] = /Mobile/.test(String(ctx.req.headers['user-agent'])) ? 'mobile' : 'desktop';
 *   },
 * });
 * ```
 */
export function defineFilter<F extends Filter>(filter: F): F {
  const problem =
    typeof filter !== 'object' || filter === null
      ? 'a filter must be an object { name, phase, run }'
      : typeof filter.name !== 'string' || filter.name === ''
        ? 'filter.name must be a non-empty string'
        : !(FILTER_PHASES as readonly string[]).includes(filter.phase)
          ? `filter '${filter.name}': phase must be one of ${FILTER_PHASES.map((p) => `'${p}'`).join(', ')} (got '${String(filter.phase)}')`
          : typeof filter.run !== 'function'
            ? `filter '${filter.name}': run must be a function`
            : filter.order !== undefined && !Number.isFinite(filter.order)
              ? `filter '${filter.name}': order must be a finite number`
              : undefined;
  if (problem) throw new GatewayError('BACKLOT_GATEWAY_INVALID_FILTER', problem);
  return filter;
}

/** Filters of each phase, sorted by order. */
export interface FilterChains {
  readonly inbound: readonly Filter[];
  readonly endpoint: readonly Filter[];
  readonly outbound: readonly Filter[];
}

/** Sorts filters into their phases (stable by `order`). */
export function buildChains(filters: readonly Filter[]): FilterChains {
  const byPhase = (phase: FilterPhase) =>
    filters
      .map((filter, index) => ({ filter, index }))
      .filter(({ filter }) => filter.phase === phase)
      .sort((a, b) => (a.filter.order ?? 0) - (b.filter.order ?? 0) || a.index - b.index)
      .map(({ filter }) => filter);
  return { inbound: byPhase('inbound'), endpoint: byPhase('endpoint'), outbound: byPhase('outbound') };
}

/**
 * Runs filters in order until one answers locally. Stays synchronous while the
 * filters do; returns a promise only once a filter returns one.
 */
export function runChain(
  chain: readonly Filter[],
  ctx: GatewayContext,
  stopOnRespond: boolean,
  from = 0,
): void | Promise<void> {
  const routeId = ctx.route?.id;
  for (let i = from; i < chain.length; i++) {
    if (stopOnRespond && ctx.responded) return;
    const filter = chain[i] as Filter;
    if (filter.routes !== undefined && (routeId === undefined || !filter.routes.includes(routeId))) continue;
    const result = filter.run(ctx);
    if (result !== undefined && typeof (result as Promise<void>).then === 'function') {
      return (result as Promise<void>).then(() => runChain(chain, ctx, stopOnRespond, i + 1));
    }
  }
}
