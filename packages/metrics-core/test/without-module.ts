import type { createRequire } from 'node:module';

/**
 * `node:module` as a `vi.mock` factory gives it, with `createRequire` unable
 * to resolve `id` (Node's own `MODULE_NOT_FOUND`), as in an install without
 * that package (prom-client is installed in the workspace):
 *
 *   vi.mock('node:module', async (original) =>
 *     (await import('…/without-module.js')).withoutModule(await original(), 'prom-client'));
 */
export function withoutModule<M extends { createRequire: typeof createRequire }>(actual: M, id: string): M {
  return {
    ...actual,
    createRequire: (from: string | URL) => {
      const real = actual.createRequire(from);
      return Object.assign((request: string) => {
        if (request === id) {
          throw Object.assign(new Error(`Cannot find module '${id}'`), { code: 'MODULE_NOT_FOUND' });
        }
        return real(request);
      }, real);
    },
  } as M;
}
