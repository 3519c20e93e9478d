import {
  aimdLimit,
  type Command,
  type CommandRegistry,
  type ConcurrencyLimit,
  defineCommand,
  gradient2Limit,
  RetryBudget,
  vegasLimit,
} from '@backlot/resilience';
import { Pool } from 'undici';
import type { OriginConfig } from '../config/schema.js';
import { type Balancer, createBalancer } from './balancers/index.js';
import { startHealthChecks } from './health/health-checker.js';
import { OutlierDetector } from './outlier/outlier-detector.js';
import { OriginServer } from './server.js';

/** One attempt of a proxied request, run inside the origin's command. */
export interface OriginAttempt {
  /**
   * Dispatches to a server; resolves when response headers arrive, rejects on
   * failure before them. A command timeout rejects `execute()` and the caller
   * then cancels the attempt, so no `AbortSignal` is created per request.
   */
  start(): Promise<void>;
}

/** Builds the adaptive limit algorithm named in config. */
export function limitAlgorithm(config: {
  algorithm: 'vegas' | 'gradient2' | 'aimd';
  initialLimit?: number | undefined;
  maxConcurrency?: number | undefined;
}): ConcurrencyLimit {
  const options = {
    ...(config.initialLimit === undefined ? {} : { initialLimit: config.initialLimit }),
    ...(config.maxConcurrency === undefined ? {} : { maxConcurrency: config.maxConcurrency }),
  };
  if (config.algorithm === 'gradient2') return gradient2Limit(options);
  if (config.algorithm === 'aimd') {
    return aimdLimit({
      minLimit: 1,
      ...(config.initialLimit === undefined ? {} : { initialLimit: config.initialLimit }),
      ...(config.maxConcurrency === undefined ? {} : { maxLimit: config.maxConcurrency }),
    });
  }
  return vegasLimit(options);
}

/**
 * A named pool of servers: an undici `Pool` per server, a balancer, passive
 * outlier ejection, optional active health checks, and one
 * `@backlot/resilience` command (key `gateway.origin.<name>`) giving the
 * origin its timeout, circuit breaker and optional adaptive concurrency limit.
 */
export class Origin {
  /** The origin's name. */
  readonly name: string;
  /** Its validated config. */
  readonly config: OriginConfig;
  /** Its servers. */
  readonly servers: readonly OriginServer[];
  /** Passive outlier ejection. */
  readonly outlier: OutlierDetector;
  /** Retry budget shared by the origin's requests. */
  readonly retryBudget: RetryBudget;
  /** The resilience command every attempt runs in. */
  readonly command: Command<[OriginAttempt], void>;
  readonly #balancer: Balancer;
  readonly #stopHealth: (() => void) | undefined;
  readonly #now: () => number = performance.now.bind(performance);

  /**
   * @param generation - 0 for the first origin of this name; reloads that change its config
   * create the next generation, whose command key gets an `@<generation>` suffix.
   */
  constructor(name: string, config: OriginConfig, registry: CommandRegistry, generation = 0) {
    this.name = name;
    this.config = config;
    this.servers = config.servers.map((server) => {
      const { url, weight } = typeof server === 'string' ? { url: server, weight: 1 } : server;
      const pool = new Pool(new URL(url).origin, {
        connections: config.connections,
        pipelining: config.pipelining,
        allowH2: config.allowH2,
        keepAliveTimeout: config.keepAliveTimeoutMs,
        connectTimeout: config.connectTimeoutMs,
        headersTimeout: config.timeoutMs + 1000,
        bodyTimeout: config.bodyTimeoutMs,
      });
      return new OriginServer(url, weight, pool);
    });
    this.#balancer = createBalancer(config.balancer);
    this.outlier = new OutlierDetector(config.outlierDetection, this.servers, this.#now);
    this.retryBudget = new RetryBudget({
      ratio: config.retry.budget.ratio,
      minRetriesPerSecond: config.retry.budget.minRetriesPerSecond,
    });
    const key = generation === 0 ? `gateway.origin.${name}` : `gateway.origin.${name}@${generation}`;
    const { circuitBreaker } = config;
    this.command = defineCommand({
      key,
      group: key,
      registry,
      timeoutMs: config.timeoutMs,
      circuitBreaker: {
        enabled: circuitBreaker.enabled,
        requestVolumeThreshold: circuitBreaker.requestVolumeThreshold,
        errorThresholdPercentage: circuitBreaker.errorThresholdPercentage,
        sleepWindowMs: circuitBreaker.sleepWindowMs,
      },
      ...(config.concurrencyLimit === false
        ? { bulkhead: { maxConcurrent: 1_000_000 } }
        : { concurrencyLimit: limitAlgorithm(config.concurrencyLimit) }),
      isBadRequest: () => false,
      run: (_execution, attempt: OriginAttempt) => attempt.start(),
    });
    this.#stopHealth = config.healthCheck ? startHealthChecks(this.servers, config.healthCheck) : undefined;
  }

  /**
   * Picks a server: healthy and not ejected, other than `exclude` when there
   * is a choice. When none is available, all are candidates (Envoy's panic
   * mode): better to try than to fail every request.
   */
  pick(exclude?: OriginServer): OriginServer {
    const now = this.#now();
    let candidates: OriginServer[] | readonly OriginServer[] = this.servers;
    let allAvailable = true;
    for (const server of this.servers) {
      if (server === exclude || !server.available(now)) {
        allAvailable = false;
        break;
      }
    }
    if (!allAvailable) {
      const available = this.servers.filter((s) => s !== exclude && s.available(now));
      candidates = available.length
        ? available
        : this.servers.filter((s) => s !== exclude).length
          ? this.servers.filter((s) => s !== exclude)
          : this.servers;
    }
    return this.#balancer(candidates);
  }

  /** Stops health checks, drains and closes the pools, and unregisters the command. */
  async close(): Promise<void> {
    this.#stopHealth?.();
    await Promise.all(this.servers.map((server) => server.pool.close()));
    this.command.dispose();
  }

  /** Closes the pools at once, failing requests in flight. */
  async destroy(): Promise<void> {
    this.#stopHealth?.();
    await Promise.all(this.servers.map((server) => server.pool.destroy()));
    this.command.dispose();
  }
}
