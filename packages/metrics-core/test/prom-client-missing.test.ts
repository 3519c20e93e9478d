import { describe, expect, it, vi } from 'vitest';

// prom-client is installed in the workspace: this file makes it unresolvable, as in an install without it.
vi.mock('node:module', async (original) =>
  (await import('./without-module.js')).withoutModule(await original<typeof import('node:module')>(), 'prom-client'),
);

const { loadPromClient, prometheusRegistry } = await import('../src/index.js');

class PackageError extends Error {
  readonly code = 'BACKLOT_X_MISSING_PEER';
}

describe('without prom-client', () => {
  it('throws the calling package’s own error, saying how to fix it, with the resolver’s error as cause', () => {
    const thrown = (() => {
      try {
        prometheusRegistry(undefined, (message, cause) => new PackageError(message, { cause }));
      } catch (error) {
        return error;
      }
      return undefined;
    })();
    expect(thrown).toBeInstanceOf(PackageError);
    expect((thrown as Error).message).toMatch(/npm install prom-client/);
    expect((thrown as Error).cause).toMatchObject({ code: 'MODULE_NOT_FOUND' });
  });

  it('throws a coded BACKLOT_MISSING_PEER error by default', () => {
    expect(() => loadPromClient()).toThrow(expect.objectContaining({ code: 'BACKLOT_MISSING_PEER' }));
  });

  it('needs no prom-client when a registry is given', () => {
    const registry = { registerMetric: () => {}, removeSingleMetric: () => {}, getSingleMetric: () => undefined };
    expect(prometheusRegistry(registry)).toBe(registry);
  });
});
