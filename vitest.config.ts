import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

/** Workspace packages resolve to their sources, so tests never need a build first. */
const alias = {
  '@backlot/gateway': here('./packages/gateway/src/index.ts'),
  '@backlot/metrics-core/tracing': here('./packages/metrics-core/src/tracing/index.ts'),
  '@backlot/metrics-core': here('./packages/metrics-core/src/index.ts'),
  '@backlot/resilience': here('./packages/resilience/src/index.ts'),
  '@backlot/events/platformatic': here('./packages/events/src/platformatic.ts'),
  '@backlot/events': here('./packages/events/src/index.ts'),
  '@backlot/storage/testing': here('./packages/storage/src/testing/index.ts'),
  '@backlot/storage': here('./packages/storage/src/index.ts'),
};

type Service = 'kafka' | 's3' | 'cassandra' | 'redis' | 'registry';

/**
 * One vitest project per package. Projects whose integration tests talk to
 * real services (Kafka, S3, Cassandra, Redis, the schema registry) get the global setup that starts
 * the ones they name (`provide.backlotServices`).
 */
const project = (name: string, root: string, { services = [] as Service[] } = {}) => ({
  extends: true as const,
  test: {
    name,
    root,
    globalSetup: services.length ? [here('./scripts/vitest-services.ts')] : [],
    provide: { backlotServices: services },
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    typecheck: {
      enabled: true,
      include: ['src/**/*.test-d.ts', 'test/**/*.test-d.ts'],
      tsconfig: here('./tsconfig.json'),
    },
  },
});

export default defineConfig({
  resolve: { alias },
  test: {
    testTimeout: 30_000,
    hookTimeout: 120_000,
    projects: [
      project('gateway', here('./packages/gateway')),
      project('metrics-core', here('./packages/metrics-core')),
      project('resilience', here('./packages/resilience')),
      project('events', here('./packages/events'), { services: ['kafka', 's3', 'cassandra', 'registry'] }),
      project('storage', here('./packages/storage'), { services: ['kafka', 's3', 'cassandra'] }),
      project('play-platform', here('./examples/play-platform'), { services: ['kafka', 's3', 'cassandra', 'redis'] }),
      project('create-backlot', here('./packages/create-backlot')),
      project('create-backlot-template', here('./packages/create-backlot/template')),
    ],
  },
});
