import { describe, expect, it, vi } from 'vitest';

// prom-client is installed in the workspace: this file makes it unresolvable, as in an install without it.
vi.mock('node:module', async (original) =>
  (await import('../../metrics-core/test/without-module.js')).withoutModule(
    await original<typeof import('node:module')>(),
    'prom-client',
  ),
);

const { EventsError, registerPrometheusMetrics } = await import('../src/index.js');

describe('registerPrometheusMetrics without prom-client', () => {
  it('throws BACKLOT_MISSING_PEER, saying how to fix it, when no registry is given', () => {
    const error = (() => {
      try {
        registerPrometheusMetrics();
      } catch (thrown) {
        return thrown;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(EventsError);
    expect(error).toMatchObject({
      code: 'BACKLOT_MISSING_PEER',
      message: expect.stringMatching(/npm install prom-client/),
    });
    expect((error as Error).cause).toMatchObject({ code: 'MODULE_NOT_FOUND' });
  });

  it('needs no prom-client module when a registry is given', () => {
    const names = new Map<string, unknown>();
    const registry = {
      registerMetric: ((metric: { name: string }) => void names.set(metric.name, metric)) as (metric: never) => void,
      removeSingleMetric: (name: string) => void names.delete(name),
      getSingleMetric: (name: string) => names.get(name),
    };
    const unregister = registerPrometheusMetrics(registry);
    // Every family, the checkpointed pipelines' state per partition among them.
    expect(names.size).toBe(13);
    expect(names.has('backlot_pipeline_restore_seconds')).toBe(true);
    expect(names.has('backlot_pipeline_last_checkpoint_timestamp_seconds')).toBe(true);
    unregister();
    expect(names.size).toBe(0);
  });
});
