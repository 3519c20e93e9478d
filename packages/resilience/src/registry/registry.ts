import type { LatencyHistogram } from '@backlot/metrics-core';
import type { BulkheadOptions } from '../bulkhead/bulkhead.js';
import type { CollapserMetricsSnapshot } from '../metrics/collapser-metrics.js';
import type { CommandMetricsSnapshot, GroupMetricsSnapshot } from '../metrics/snapshot.js';
import { type AdaptiveLimiterLike, GroupIsolation } from './group-isolation.js';

/** What the registry knows of a command. @internal */
export interface RegisteredCommand {
  readonly key: string;
  readonly group: string;
  /** Latency seen by callers since the command was defined. */
  readonly duration: LatencyHistogram;
  metrics(): CommandMetricsSnapshot;
  dispose(): void;
}

/**
 * Holds commands and their groups' isolation, and is what metrics exporters
 * (snapshots, Prometheus, the Hystrix stream) read. Most services use the
 * {@link defaultRegistry}; tests and multi-tenant hosts create their own.
 */
export class CommandRegistry {
  readonly #commands = new Map<string, RegisteredCommand>();
  readonly #groups = new Map<string, GroupIsolation>();
  readonly #groupSettings = new Map<string, string>();
  readonly #collapsers = new Map<string, { metrics(): CollapserMetricsSnapshot }>();

  /**
   * Declares a group's isolation before (or instead of in) its commands: a
   * fixed bulkhead, or an adaptive concurrency limiter.
   * @throws {TypeError} if the group already exists with other settings.
   */
  defineGroup(group: string, isolation: { bulkhead: BulkheadOptions } | { limiter: AdaptiveLimiterLike }): void {
    this.groupIsolation(group, isolation, { windowMs: 10_000, buckets: 10 }, performance.now.bind(performance));
  }

  /** @internal the isolation of `group`, created with these settings on first use. */
  groupIsolation(
    group: string,
    isolation: { bulkhead: BulkheadOptions } | { limiter: AdaptiveLimiterLike } | undefined,
    window: { windowMs: number; buckets: number },
    now: () => number,
  ): GroupIsolation {
    const existing = this.#groups.get(group);
    const settings =
      isolation === undefined
        ? undefined
        : 'limiter' in isolation
          ? 'adaptive limiter'
          : JSON.stringify({
              maxConcurrent: isolation.bulkhead.maxConcurrent ?? 10,
              maxQueue: isolation.bulkhead.maxQueue ?? 0,
            });
    if (existing) {
      const before = this.#groupSettings.get(group);
      if (settings !== undefined && before !== settings) {
        throw new TypeError(
          `group '${group}' already has isolation ${before}; commands of one group share it, so give them the same bulkhead settings, or define the group once with registry.defineGroup()`,
        );
      }
      return existing;
    }
    const created = new GroupIsolation(group, isolation ?? { bulkhead: {} }, window, now);
    this.#groups.set(group, created);
    this.#groupSettings.set(group, settings ?? JSON.stringify({ maxConcurrent: 10, maxQueue: 0 }));
    return created;
  }

  /** @internal `replace`: take the place of a command with the same key instead of throwing. */
  register(command: RegisteredCommand, replace = false): void {
    if (!replace && this.#commands.has(command.key)) {
      throw new TypeError(
        `a command with key '${command.key}' is already defined in this registry; keys are unique — dispose() the old one, pass { replace: true } to take its place (tests, hot reload), or pass { registry: new CommandRegistry() }`,
      );
    }
    this.#commands.set(command.key, command);
  }

  /** @internal forgets `key`, if `command` (when given) is still the one registered under it. */
  unregister(key: string, command?: RegisteredCommand): void {
    if (command === undefined || this.#commands.get(key) === command) this.#commands.delete(key);
  }

  /** Whether a command with `key` is defined in this registry. */
  has(key: string): boolean {
    return this.#commands.has(key);
  }

  /**
   * @internal a collapser's metrics, shown on the Hystrix stream. A collapser
   * defined again under the same name takes the place of the earlier one.
   */
  registerCollapser(name: string, source: { metrics(): CollapserMetricsSnapshot }): void {
    this.#collapsers.set(name, source);
  }

  /** @internal forgets a collapser, if `source` is still the one registered under `name`. */
  unregisterCollapser(name: string, source: { metrics(): CollapserMetricsSnapshot }): void {
    if (this.#collapsers.get(name) === source) this.#collapsers.delete(name);
  }

  /** Metrics of every collapser. */
  collapserMetrics(): CollapserMetricsSnapshot[] {
    return [...this.#collapsers.values()].map((collapser) => collapser.metrics());
  }

  /** Metrics of every command. */
  commandMetrics(): CommandMetricsSnapshot[] {
    return [...this.#commands.values()].map((command) => command.metrics());
  }

  /** @internal the registered commands (the Prometheus collectors read them at scrape time). */
  commands(): IterableIterator<RegisteredCommand> {
    return this.#commands.values();
  }

  /** Metrics of every group's isolation. */
  groupMetrics(): GroupMetricsSnapshot[] {
    return [...this.#groups.values()].map((group) => group.snapshot());
  }

  /** Disposes every command (stops their timers) and forgets the groups and collapsers. */
  clear(): void {
    for (const command of [...this.#commands.values()]) command.dispose();
    this.#commands.clear();
    this.#groups.clear();
    this.#groupSettings.clear();
    this.#collapsers.clear();
  }
}

/** The registry commands join unless given another. */
export const defaultRegistry: CommandRegistry = new CommandRegistry();
