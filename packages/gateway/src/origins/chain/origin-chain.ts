import type { Dispatcher } from 'undici';
import { z } from 'zod';
import { InvalidConfigError } from '../../errors.js';

/**
 * One named step of an origin's chain: an undici interceptor
 * (`(dispatch) => (options, handler) => boolean`, the shape
 * `Dispatcher.compose` takes). The gateway's own steps read the request's
 * {@link OriginCall} from `options[ORIGIN_CALL]`; a step of yours may too.
 */
export interface OriginInterceptor {
  /** A name unique in the chain (`retry`, `breaker`, `concurrency-limit`, `timeout`, `outlier-detection` are the gateway's). */
  readonly name: string;
  /** The interceptor. */
  readonly interceptor: Dispatcher.DispatcherComposeInterceptor;
}

/**
 * Builds an origin's chain from the gateway's default one, listed outermost
 * first (the order a request goes through them): insert your steps, reorder
 * or drop the gateway's. Called once per origin (again for an origin whose
 * config a reload changed).
 *
 * @example
 * ```ts
 * const originChain: OriginChainBuilder = (chain) => [audit, ...chain]; // audit sees every request once
 * ```
 */
export type OriginChainBuilder = (chain: readonly OriginInterceptor[], origin: string) => readonly OriginInterceptor[];

const chainSchema = z
  .array(
    z.strictObject({
      name: z.string({ error: 'name must be a string' }).min(1, 'name must not be empty'),
      interceptor: z.custom<Dispatcher.DispatcherComposeInterceptor>((value) => typeof value === 'function', {
        error: 'interceptor must be a function (dispatch) => (options, handler) => boolean',
      }),
    }),
    { error: 'the builder must return an array of { name, interceptor }' },
  )
  .superRefine((steps, ctx) => {
    const seen = new Set<string>();
    steps.forEach((step, index) => {
      if (seen.has(step.name)) {
        ctx.addIssue({
          code: 'custom',
          path: [index, 'name'],
          message: `'${step.name}' appears twice: names must be unique`,
        });
      }
      seen.add(step.name);
    });
  });

/**
 * Composes an origin's chain on `base` (the balancer) with undici's
 * `Dispatcher.compose`: the first step of `steps` is the outermost. A
 * builder's result is checked first; a bad one is an
 * {@link InvalidConfigError} naming the origin and the step.
 */
export function composeOriginChain(
  base: Dispatcher,
  origin: string,
  defaults: readonly OriginInterceptor[],
  builder: OriginChainBuilder | undefined,
): Dispatcher.ComposedDispatcher | Dispatcher {
  let steps = defaults;
  if (builder) {
    const built = chainSchema.safeParse(builder(defaults, origin));
    if (!built.success) {
      throw new InvalidConfigError(
        built.error.issues.map(
          (issue) =>
            `originChain (origin '${origin}')${issue.path.map((key) => (typeof key === 'number' ? `[${key}]` : `.${String(key)}`)).join('')}: ${issue.message}`,
        ),
      );
    }
    steps = built.data;
  }
  if (steps.length === 0) return base;
  // compose() wraps in list order, so its first interceptor is the innermost: reversed, ours is the outermost.
  return base.compose(steps.map((step) => step.interceptor).reverse());
}
