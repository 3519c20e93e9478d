import { type Filter, type FilterChains, type FilterPhase, runChain } from './filter.js';
import type { RequestContext } from './request-context.js';

/**
 * Runs one phase's chain: in a `gateway.filters.<phase>` span when the
 * request is traced, as a plain {@link runChain} otherwise. @internal
 */
export function runPhase(
  phase: FilterPhase,
  chain: readonly Filter[],
  ctx: RequestContext,
  stopOnRespond: boolean,
): void | Promise<void> {
  const spans = ctx.spans;
  return spans
    ? spans.phase(phase, chain.length, () => runChain(chain, ctx, stopOnRespond))
    : runChain(chain, ctx, stopOnRespond);
}

/**
 * Runs a request through its inbound then endpoint phases: `local()` answers
 * when a filter responded, `proxy()` sends it on otherwise; a filter's error
 * (thrown or rejected) goes to `fail`. Stays synchronous while every filter
 * is. Shared by requests and upgrades. @internal
 */
export function runRequestPhases(
  chains: FilterChains,
  ctx: RequestContext,
  local: () => void,
  proxy: () => void | Promise<void>,
  fail: (error: unknown) => void,
): void {
  const afterInbound = (): void | Promise<void> => {
    if (ctx.responded) return local();
    const endpoint = chains.endpoint.length ? runPhase('endpoint', chains.endpoint, ctx, true) : undefined;
    if (endpoint) return endpoint.then(() => (ctx.responded ? local() : proxy()));
    if (ctx.responded) return local();
    return proxy();
  };
  try {
    const inbound = chains.inbound.length ? runPhase('inbound', chains.inbound, ctx, true) : undefined;
    const result = inbound ? inbound.then(afterInbound) : afterInbound();
    if (result) result.catch(fail);
  } catch (error) {
    fail(error);
  }
}
