// Lets a child `node` process run the workspace's TypeScript sources directly
// (tests that spawn a CLI or a worker from src/): Node strips the types, this
// hook maps the sources' `./x.js` imports to `./x.ts`, and the workspace
// packages to their sources, so no build is needed first.
// Use: node --import <repo>/scripts/ts-hooks.mjs packages/x/src/main.ts
import { registerHooks } from 'node:module';

const source = (name) => new URL(`../packages/${name}/src/index.ts`, import.meta.url).href;
const workspace = {
  '@backlot/metrics-core': source('metrics-core'),
  '@backlot/metrics-core/tracing': new URL('../packages/metrics-core/src/tracing/index.ts', import.meta.url).href,
  '@backlot/resilience': source('resilience'),
  '@backlot/storage': source('storage'),
  '@backlot/events': source('events'),
  '@backlot/gateway': source('gateway'),
};

registerHooks({
  resolve(specifier, context, nextResolve) {
    if (Object.hasOwn(workspace, specifier)) return nextResolve(workspace[specifier], context);
    try {
      return nextResolve(specifier, context);
    } catch (error) {
      if (error?.code === 'ERR_MODULE_NOT_FOUND' && specifier.startsWith('.') && specifier.endsWith('.js')) {
        return nextResolve(`${specifier.slice(0, -3)}.ts`, context);
      }
      throw error;
    }
  },
});
