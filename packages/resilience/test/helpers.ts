import { afterEach } from 'vitest';
import { type Command, CommandRegistry, type DefineCommandOptions, defineCommand } from '../src/index.js';

/**
 * A fresh command registry per test (a live binding: importers see the new
 * one after each test); the previous one is cleared, so no command's timer
 * outlives its test.
 */
export let registry = new CommandRegistry();

afterEach(() => {
  registry.clear();
  registry = new CommandRegistry();
});

/** `defineCommand` in the test's {@link registry}. */
export const define = <A extends unknown[], R>(options: DefineCommandOptions<A, R>) =>
  defineCommand({ registry, ...options });

/**
 * Defines `catalog.getTitle` (group `catalog`, bulkhead 5 + queue 2, a
 * fallback) in `registry` and calls it six times: four successes, two
 * failures that fall back. Returns the command.
 */
export async function exerciseCatalog(registry: CommandRegistry): Promise<Command<[ok: boolean], string>> {
  const getTitle = defineCommand({
    registry,
    key: 'catalog.getTitle',
    group: 'catalog',
    bulkhead: { maxConcurrent: 5, maxQueue: 2 },
    run: (_e, ok: boolean) => (ok ? Promise.resolve('title') : Promise.reject(new Error('down'))),
    fallback: () => 'cached title',
  });
  for (let i = 0; i < 6; i++) await getTitle(i % 3 !== 0);
  return getTitle;
}
