import { afterEach } from 'vitest';
import { CommandRegistry, type DefineCommandOptions, defineCommand } from '../src/index.js';

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
