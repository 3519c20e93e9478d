import type { Service } from './service.ts';

/** Options of {@link drainOnSignals}. */
export interface DrainOnSignalsOptions {
  /** Signals that start the drain (default SIGTERM and SIGINT). */
  signals?: NodeJS.Signals[];
  /** Runs after the services drained, e.g. to flush an event producer. */
  afterDrain?: () => Promise<void>;
  /** Called with the exit code instead of `process.exit` (tests). */
  exit?: (code: number) => void;
}

/**
 * On SIGTERM (or SIGINT), drains every service (see `Service.close`: not
 * ready, stop accepting, finish in-flight requests within the deadline), runs
 * `afterDrain`, and exits 0 — or 1, logging why, when something failed. A
 * second signal while draining exits at once (130).
 */
export function drainOnSignals(services: Service[], options: DrainOnSignalsOptions = {}): void {
  const exit = options.exit ?? ((code: number) => process.exit(code));
  let draining = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (draining) return exit(130);
    draining = true;
    for (const service of services) service.app.log.info({ signal }, 'draining');
    Promise.all(services.map((service) => service.close()))
      .then(() => options.afterDrain?.())
      .then(
        () => exit(0),
        (error: unknown) => {
          services[0]?.app.log.error({ err: error }, 'drain failed');
          exit(1);
        },
      );
  };
  for (const signal of options.signals ?? ['SIGTERM', 'SIGINT']) process.on(signal, onSignal);
}
