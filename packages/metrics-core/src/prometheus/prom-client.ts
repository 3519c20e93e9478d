import { createRequire } from 'node:module';
import type { PrometheusRegistry } from './register.js';

/** A prom-client `Registry` that can also serve its exposition. */
export type ServingPrometheusRegistry = PrometheusRegistry & {
  /** The exposition text (Prometheus text or OpenMetrics, by the registry's content type). */
  metrics(): Promise<string>;
  /** The content type of {@link ServingPrometheusRegistry.metrics}. */
  readonly contentType: string;
};

/** What Backlot uses of the prom-client module, typed structurally (prom-client is an optional peer). */
export interface PromClientModule {
  /** The global registry. */
  register: PrometheusRegistry;
  /** The `Registry` class. */
  Registry: (new (
    contentType?: string,
  ) => ServingPrometheusRegistry) & {
    readonly OPENMETRICS_CONTENT_TYPE: string;
  };
  /** Registers Node's default process metrics in a registry. */
  collectDefaultMetrics(options: { register: PrometheusRegistry }): void;
}

/**
 * Makes the calling package's own coded error for a missing prom-client (each
 * package keeps its error class and code): `message` says how to fix it,
 * `cause` is the resolver's error.
 */
export type MissingPromClient = (message: string, cause: unknown) => Error;

/** The message of the error thrown when prom-client is needed and not installed. */
export const MISSING_PROM_CLIENT_MESSAGE =
  'prom-client (an optional peer dependency) is not installed: run `npm install prom-client`, or pass a prom-client Registry to registerPrometheusMetrics()';

const defaultMissing: MissingPromClient = (message, cause) =>
  Object.assign(new Error(message, { cause }), { code: 'BACKLOT_MISSING_PEER' });

/**
 * Loads prom-client (`require('prom-client')`, resolved from this package's
 * location, in both the ES module and the CommonJS build).
 * @throws the error `missing` makes (default: an `Error` with code
 * `BACKLOT_MISSING_PEER`) when prom-client is not installed.
 */
export function loadPromClient(missing: MissingPromClient = defaultMissing): PromClientModule {
  // `require` of this module's location, in both builds: CommonJS has `__filename`; ESM has
  // `import.meta.url` (a bare `require` would be the bundler's shim, which throws in ESM).
  const load = createRequire(typeof __filename === 'string' ? __filename : import.meta.url);
  try {
    return load('prom-client') as PromClientModule;
  } catch (error) {
    throw missing(MISSING_PROM_CLIENT_MESSAGE, error);
  }
}

/**
 * `registry` when given, else prom-client's global registry
 * (`require('prom-client').register`): what every package's
 * `registerPrometheusMetrics(registry?)` registers into.
 * @throws the error `missing` makes when no registry is given and prom-client is not installed.
 */
export function prometheusRegistry(
  registry: PrometheusRegistry | undefined,
  missing: MissingPromClient = defaultMissing,
): PrometheusRegistry {
  return registry ?? loadPromClient(missing).register;
}
