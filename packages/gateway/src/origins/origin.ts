import { readFileSync } from 'node:fs';
import {
  aimdLimit,
  type CommandPolicies,
  type CommandRegistry,
  type ConcurrencyLimit,
  defineCommandPolicies,
  gradient2Limit,
  RetryBudget,
  TimeoutList,
  vegasLimit,
} from '@backlot/resilience';
import { buildConnector, type Dispatcher, Pool } from 'undici';
import type { OriginConfig } from '../config/schema.js';
import { isOriginFault } from '../proxy/fault.js';
import { type Balancer, createBalancer } from './balancers/index.js';
import { BalancerDispatcher } from './chain/balancer-dispatcher.js';
import { breaker } from './chain/breaker.js';
import { concurrencyLimit } from './chain/concurrency-limit.js';
import { composeOriginChain, type OriginChainBuilder, type OriginInterceptor } from './chain/origin-chain.js';
import { outlierDetection } from './chain/outlier-detection.js';
import { retry } from './chain/retry.js';
import { timeout } from './chain/timeout.js';
import { startHealthChecks } from './health/health-checker.js';
import { OutlierDetector } from './outlier/outlier-detector.js';
import { OriginServer } from './server.js';

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
 * Headers illegal on an HTTP/2 request (RFC 9113 §8.2.2): connection-specific
 * ones, which the request path already strips from what the client sent, but
 * which a filter may have set since. `te` is legal with the value `trailers` only.
 */
const CONNECTION_SPECIFIC = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'http2-settings',
  'te',
]);

type Headers = NonNullable<Dispatcher.DispatchOptions['headers']>;

/** `headers` without connection-specific ones (copied only when one is there). */
function withoutConnectionSpecific(headers: Headers): Headers {
  if (Array.isArray(headers) || Symbol.iterator in headers) return headers;
  const record = headers as Record<string, string | string[] | undefined>;
  let out: Record<string, string | string[] | undefined> | undefined;
  for (const name in record) {
    const lower = name.toLowerCase();
    if (!CONNECTION_SPECIFIC.has(lower) || (lower === 'te' && record[name] === 'trailers')) continue;
    out ??= { ...record };
    delete out[name];
  }
  return out ?? headers;
}

/** What a pool to an `https://` server needs to know about TLS. */
interface TlsSettings {
  /** The SNI name and the name checked on the certificate (`undefined`: the URL's host, no SNI for an IP). */
  servername: string | undefined;
  /** Requests carry this name so that the pool keeps one connection whatever their `Host`. */
  requestName: string;
  ca: string | Buffer | undefined;
  rejectUnauthorized: boolean;
  /** HTTP/2 offered: connection-specific headers are dropped. */
  h2: boolean;
}

/**
 * A pool to an `https://` server. undici derives a request's SNI name from
 * its `Host` header, which on a gateway is the client's (the gateway's own
 * name): the certificate would be checked against the wrong name, and a pool
 * would reconnect whenever `Host` changes. Here every request carries the
 * server's name, the connector uses the configured one, and on HTTP/2
 * connection-specific headers a filter may have set are dropped.
 */
class TlsPool extends Pool {
  readonly #settings: TlsSettings;

  constructor(origin: string, options: Pool.Options, settings: TlsSettings, connectTimeout: number) {
    const base = buildConnector({
      ...(settings.ca === undefined ? {} : { ca: settings.ca }),
      ...(settings.servername === undefined ? {} : { servername: settings.servername }),
      rejectUnauthorized: settings.rejectUnauthorized,
      allowH2: settings.h2,
      timeout: connectTimeout,
    });
    const connect: buildConnector.connector = ({ servername: _fromHost, ...target }, callback) =>
      base(target, callback);
    super(origin, { ...options, allowH2: settings.h2, connect });
    this.#settings = settings;
  }

  override dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    const settings = this.#settings;
    const named: Dispatcher.DispatchOptions & { servername: string } = { ...options, servername: settings.requestName };
    if (settings.h2 && options.headers) named.headers = withoutConnectionSpecific(options.headers);
    return super.dispatch(named, handler);
  }
}

/** The TLS settings of an origin's server, reading `tls.caFile` (errors name the field). */
function tlsSettings(name: string, config: OriginConfig, url: URL, h2: boolean): TlsSettings {
  const tls = config.tls;
  let ca: string | Buffer | undefined = tls?.ca;
  if (tls?.caFile !== undefined) {
    try {
      ca = readFileSync(tls.caFile);
    } catch (error) {
      throw new Error(
        `origins.${name}.tls.caFile: cannot read '${tls.caFile}' (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
        { cause: error },
      );
    }
  }
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  return {
    servername: tls?.servername,
    requestName: tls?.servername ?? host,
    ca,
    rejectUnauthorized: tls?.rejectUnauthorized ?? true,
    h2,
  };
}

/** What an {@link Origin} is built with beside its name and config. */
export interface OriginOptions {
  /** Where its resilience policies (the command `gateway.origin.<name>`) live. */
  readonly registry: CommandRegistry;
  /**
   * 0 for the first origin of this name; reloads that change its config
   * create the next generation, whose command key gets an `@<generation>` suffix.
   */
  readonly generation?: number | undefined;
  /** Changes the default chain of interceptors (see {@link OriginChainBuilder}). */
  readonly chain?: OriginChainBuilder | undefined;
}

/**
 * A named pool of servers: an undici `Pool` per server, a balancer, passive
 * outlier ejection, optional active health checks, and the
 * `@backlot/resilience` policies of the command `gateway.origin.<name>`:
 * its circuit breaker, concurrency limit (a bulkhead, or an adaptive limit)
 * and timeout, sharing one set of Hystrix metrics.
 *
 * Requests go through its {@link Origin.dispatcher}: undici interceptors
 * composed on the balancer, outermost first `retry` → `breaker` →
 * `concurrency-limit` → `timeout` → `outlier-detection` → balancer → the
 * server's pool; the order is data ({@link OriginChainBuilder}).
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
  /** Its breaker, concurrency limit and timeout (the command `gateway.origin.<name>` in the registry's metrics). */
  readonly policies: CommandPolicies;
  /** The origin's chain: where the gateway dispatches its requests (with an `OriginCall` on their options). */
  readonly dispatcher: Dispatcher;
  /**
   * The deadlines of the requests in its chain (`deadlineMs`): one timer for
   * all of them, each request's handler an entry from its dispatch to the
   * answer's head.
   */
  readonly deadlines: TimeoutList;
  readonly #balancer: Balancer;
  /** HTTP/1.1 pools for upgrades to servers whose main pool may speak HTTP/2. */
  readonly #upgradePools = new Map<OriginServer, Pool>();
  readonly #poolOptions: Pool.Options;
  readonly #stopHealth: (() => void) | undefined;
  readonly #now: () => number = performance.now.bind(performance);

  constructor(name: string, config: OriginConfig, options: OriginOptions) {
    const { registry, generation = 0 } = options;
    this.name = name;
    this.config = config;
    this.#poolOptions = {
      connections: config.connections,
      pipelining: config.pipelining,
      keepAliveTimeout: config.keepAliveTimeoutMs,
      connectTimeout: config.connectTimeoutMs,
      headersTimeout: config.timeoutMs + 1000,
      bodyTimeout: config.bodyTimeoutMs,
    };
    this.servers = config.servers.map((server) => {
      const { url, weight } = typeof server === 'string' ? { url: server, weight: 1 } : server;
      const parsed = new URL(url);
      const pool =
        parsed.protocol === 'https:'
          ? new TlsPool(
              parsed.origin,
              this.#poolOptions,
              tlsSettings(name, config, parsed, config.allowH2),
              config.connectTimeoutMs,
            )
          : new Pool(parsed.origin, { ...this.#poolOptions, allowH2: config.allowH2 });
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
    this.policies = defineCommandPolicies({
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
      // Whose fault (one place: proxy/fault.ts): only the origin's failures trip its breaker and adaptive limit.
      isBadRequest: (error: unknown) => !isOriginFault(error),
    });
    const { policies } = this;
    const defaults: OriginInterceptor[] = [
      { name: 'retry', interceptor: retry(this) },
      { name: 'breaker', interceptor: breaker(policies.breaker) },
      { name: 'concurrency-limit', interceptor: concurrencyLimit(policies.isolation) },
      { name: 'timeout', interceptor: timeout(policies.timeout) },
      { name: 'outlier-detection', interceptor: outlierDetection(this.outlier) },
    ];
    try {
      this.dispatcher = composeOriginChain(new BalancerDispatcher(this), name, defaults, options.chain);
    } catch (error) {
      this.policies.dispose();
      void Promise.all(this.servers.map((server) => server.pool.destroy()));
      throw error;
    }
    this.deadlines = new TimeoutList(
      config.deadlineMs ?? config.timeoutMs * config.retry.maxAttempts + 1000,
      this.#now,
    );
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

  /**
   * The dispatcher for an `Upgrade:` request (WebSocket) to `server`: its
   * pool, or, when that pool may speak HTTP/2 (where undici would turn the
   * upgrade into an extended CONNECT the origin may not support), a pool of
   * its own that speaks HTTP/1.1 only, created on first use.
   */
  upgradeDispatcher(server: OriginServer): Dispatcher {
    if (!this.config.allowH2 || server.url.protocol !== 'https:') return server.pool;
    let pool = this.#upgradePools.get(server);
    if (!pool) {
      pool = new TlsPool(
        server.url.origin,
        this.#poolOptions,
        tlsSettings(this.name, this.config, server.url, false),
        this.config.connectTimeoutMs,
      );
      this.#upgradePools.set(server, pool);
    }
    return pool;
  }

  #pools(): Pool[] {
    return [...this.servers.map((server) => server.pool), ...this.#upgradePools.values()];
  }

  /** Stops health checks, drains and closes the pools, and unregisters the policies. */
  async close(): Promise<void> {
    this.#stopHealth?.();
    this.deadlines.clear();
    await Promise.all(this.#pools().map((pool) => pool.close()));
    this.policies.dispose();
  }

  /** Closes the pools at once, failing requests in flight. */
  async destroy(): Promise<void> {
    this.#stopHealth?.();
    this.deadlines.clear();
    await Promise.all(this.#pools().map((pool) => pool.destroy()));
    this.policies.dispose();
  }
}
