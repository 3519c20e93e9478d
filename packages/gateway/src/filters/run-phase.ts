import { type Filter, type FilterPhase, runChain } from './filter.js';
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
