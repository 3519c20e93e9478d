import {
  type PrometheusCollector,
  type PrometheusHistogramSample,
  type PrometheusRegistry,
  type PrometheusSample,
  prometheusCounter,
  prometheusGauge,
  prometheusHistogram,
  prometheusRegistry,
  registerCollectors,
} from '@backlot/metrics-core';
import { ResilienceError } from '../../errors.js';
import { type CommandRegistry, defaultRegistry } from '../../registry/registry.js';
import type { CommandMetricsSnapshot, GroupMetricsSnapshot } from '../snapshot.js';

/** Options of {@link registerPrometheusMetrics}. */
export interface RegisterPrometheusOptions {
  /** The command registries to expose (default: `defaultRegistry`). */
  commands?: CommandRegistry | readonly CommandRegistry[] | undefined;
}

/** How each execution ended, as `outcome` label values, from the cumulative event counters. */
const CALL_OUTCOMES = [
  ['success', 'success'],
  ['failure', 'failure'],
  ['timeout', 'timeout'],
  ['short_circuited', 'shortCircuited'],
  ['rejected', 'rejected'],
  ['bad_request', 'badRequest'],
  ['cancelled', 'cancelled'],
] as const;

const FALLBACK_OUTCOMES = [
  ['success', 'fallbackSuccess'],
  ['failure', 'fallbackFailure'],
  ['missing', 'fallbackMissing'],
] as const;

/** The live sources behind one prom-client registry's families, shared by every call for that registry. */
interface Exposure {
  readonly sources: Map<CommandRegistry, number>;
  readonly unregister: () => void;
}

const exposures = new WeakMap<PrometheusRegistry, Exposure>();

/** Snapshots of one scrape: every family of a scrape reads the same ones, computed once. */
function scrapeCache(sources: Map<CommandRegistry, number>) {
  let cached: { commands: CommandMetricsSnapshot[]; groups: GroupMetricsSnapshot[] } | undefined;
  return () => {
    if (!cached) {
      const registries = [...sources.keys()];
      cached = {
        commands: registries.flatMap((r) => r.commandMetrics()),
        groups: registries.flatMap((r) => r.groupMetrics()),
      };
      // prom-client asks every family in the same tick of one scrape.
      queueMicrotask(() => {
        cached = undefined;
      });
    }
    return cached;
  };
}

function collectors(sources: Map<CommandRegistry, number>): PrometheusCollector[] {
  const scrape = scrapeCache(sources);
  const each = <T>(list: () => T[], map: (item: T) => Iterable<PrometheusSample>) =>
    function* (): Iterable<PrometheusSample> {
      for (const item of list()) yield* map(item);
    };
  const commands = () => scrape().commands;
  const groups = () => scrape().groups;
  const cmd = (m: CommandMetricsSnapshot) => ({ command: m.key, group: m.group });
  return [
    prometheusCounter(
      'backlot_command_calls_total',
      'Command executions since start, by outcome (each attempt; retries and hedges count again).',
      each(commands, (m) =>
        CALL_OUTCOMES.map(([outcome, event]) => [{ ...cmd(m), outcome }, m.cumulativeCounts[event]]),
      ),
    ),
    prometheusCounter(
      'backlot_command_fallbacks_total',
      'Fallbacks since start, by outcome (missing: the command has no fallback).',
      each(commands, (m) =>
        FALLBACK_OUTCOMES.map(([outcome, event]) => [{ ...cmd(m), outcome }, m.cumulativeCounts[event]]),
      ),
    ),
    prometheusCounter(
      'backlot_command_retries_total',
      'Retries since start (retry_budget_exhausted: retries the budget refused).',
      each(commands, (m) => [
        [{ ...cmd(m), result: 'sent' }, m.cumulativeCounts.retry],
        [{ ...cmd(m), result: 'retry_budget_exhausted' }, m.cumulativeCounts.retryBudgetExhausted],
      ]),
    ),
    prometheusHistogram(
      'backlot_command_duration_seconds',
      'Latency seen by callers (fallback and retries included), since start.',
      function* (): Iterable<PrometheusHistogramSample> {
        for (const registry of sources.keys()) {
          for (const command of registry.commands()) {
            yield [{ command: command.key, group: command.group }, command.duration.data()];
          }
        }
      },
    ),
    prometheusGauge(
      'backlot_command_circuit_open',
      '1 when the circuit is open or half-open, else 0.',
      each(commands, (m) => [[{ command: m.key }, m.circuit === 'closed' ? 0 : 1]]),
      { combine: Math.max },
    ),
    prometheusGauge(
      'backlot_command_concurrent_executions',
      'Executions running now.',
      each(commands, (m) => [[cmd(m), m.concurrency.current]]),
    ),
    prometheusGauge(
      'backlot_command_error_ratio',
      'Share of failed executions (failure, timeout, rejected) the circuit breaker sees over its rolling window, 0 to 1.',
      each(commands, (m) => [[cmd(m), m.health.errorPercentage / 100]]),
    ),
    prometheusGauge(
      'backlot_bulkhead_active',
      'Calls running now in the group (fixed bulkhead or adaptive limit).',
      each(groups, (g) => [[{ group: g.group }, g.active]]),
    ),
    prometheusGauge(
      'backlot_bulkhead_queued',
      'Calls waiting for a slot now.',
      each(groups, (g) => [[{ group: g.group }, g.queued]]),
    ),
    prometheusGauge(
      'backlot_bulkhead_limit',
      'Concurrent calls allowed now (the fixed maximum, or the adaptive limit).',
      each(groups, (g) => [[{ group: g.group }, g.limit]]),
    ),
    prometheusCounter(
      'backlot_bulkhead_rejected_total',
      'Calls rejected since start because the group was full.',
      each(groups, (g) => [[{ group: g.group }, g.rejected]]),
    ),
  ];
}

/**
 * Registers the commands' metric families in a prom-client `Registry`
 * (default: prom-client's global `register`) as collectors that read the
 * commands when scraped — nothing is added to the call path. Returns the
 * function that unregisters them.
 *
 * Families: `backlot_command_calls_total{command,group,outcome}`,
 * `backlot_command_fallbacks_total{command,group,outcome}`,
 * `backlot_command_retries_total{command,group,result}`,
 * `backlot_command_duration_seconds{command,group}` (histogram),
 * `backlot_command_circuit_open{command}`,
 * `backlot_command_concurrent_executions{command,group}`,
 * `backlot_command_error_ratio{command,group}`,
 * `backlot_bulkhead_active|queued|limit{group}`,
 * `backlot_bulkhead_rejected_total{group}`.
 *
 * Calling it again for the same prom-client registry adds the other command
 * registries to the same families (the gateway does, for its origins).
 *
 * @throws {ResilienceError} `BACKLOT_MISSING_PEER` without `registry` when prom-client is not installed.
 *
 * @example
 * ```ts
 * import { Registry } from 'prom-client';
 * import { registerPrometheusMetrics } from '@backlot/resilience';
 *
 * const registry = new Registry();
 * const unregister = registerPrometheusMetrics(registry);
 * console.log(await registry.metrics());
 * unregister();
 * ```
 */
export function registerPrometheusMetrics(
  registry?: PrometheusRegistry,
  options: RegisterPrometheusOptions = {},
): () => void {
  const target = prometheusRegistry(
    registry,
    (message, cause) => new ResilienceError('BACKLOT_MISSING_PEER', message, { cause }),
  );
  const given = options.commands ?? defaultRegistry;
  const added: readonly CommandRegistry[] = Array.isArray(given) ? given : [given as CommandRegistry];
  let exposure = exposures.get(target);
  if (!exposure) {
    const sources = new Map<CommandRegistry, number>();
    exposure = { sources, unregister: registerCollectors(target, collectors(sources)) };
    exposures.set(target, exposure);
  }
  const { sources } = exposure;
  for (const source of added) sources.set(source, (sources.get(source) ?? 0) + 1);
  let done = false;
  return () => {
    if (done) return;
    done = true;
    for (const source of added) {
      const count = (sources.get(source) ?? 1) - 1;
      if (count > 0) sources.set(source, count);
      else sources.delete(source);
    }
    if (sources.size === 0 && exposures.get(target) === exposure) {
      exposure.unregister();
      exposures.delete(target);
    }
  };
}
