import { watch } from 'node:fs';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { CommandRegistry } from '@backlot/resilience';
import { createAdminMetrics } from './admin/admin-metrics.js';
import { createAdminServer } from './admin/admin-server.js';
import { parseConfig } from './config/parse.js';
import {
  type ConfigObjectStore,
  objectFetcher,
  pollConfig,
  type RemoteConfigOptions,
  urlFetcher,
} from './config/remote.js';
import type { GatewayConfig, GatewayConfigInput } from './config/schema.js';
import { InvalidConfigError } from './errors.js';
import { GatewayState } from './exchange/gateway-state.js';
import { defineFilter, type Filter } from './filters/filter.js';
import { createAccessLog, type GatewayLogger } from './logging/access-log.js';
import { GatewayMetrics } from './metrics/gateway-metrics.js';
import { liveGateways, trackGateway } from './metrics/prometheus.js';
import type { OriginChainBuilder } from './origins/chain/origin-chain.js';
import type { Origin } from './origins/origin.js';
import { checkStoreObjects } from './rate-limit/check-stores.js';
import type { RateLimitStore } from './rate-limit/store.js';
import { createEdgeServer, type EdgeServer, readTls } from './server/create-server.js';
import { createHandler } from './server/handler.js';
import { buildRuntime, type Runtime } from './server/runtime.js';
import { createUpgradeHandler } from './server/upgrade.js';

/** Options of {@link createGateway} that are code, not config. */
export interface GatewayOptions {
  /** Filters written in code, merged with the config's built-ins by phase and order. */
  filters?: readonly Filter[] | undefined;
  /** A pino (or pino-compatible) logger for the access log and reload events. Nothing is logged without one. */
  logger?: GatewayLogger | undefined;
  /** Where the origins' resilience commands live (default: a registry of the gateway's own). */
  registry?: CommandRegistry | undefined;
  /**
   * Shared rate-limit stores by name, for `rateLimit` filters whose config
   * says `store: '<name>'` (e.g. a {@link RedisRateLimitStore} shared by a
   * fleet of gateways). The gateway never closes them: close them after
   * `gateway.close()`.
   */
  rateLimitStores?: Readonly<Record<string, RateLimitStore>> | undefined;
  /**
   * Changes each origin's chain of undici interceptors: it gets the default
   * one, outermost first (`retry`, `breaker`, `concurrency-limit`, `timeout`, `outlier-detection`),
   * and returns the chain to use: insert your own steps, reorder or drop the
   * gateway's. A bad result is an {@link InvalidConfigError}.
   */
  originChain?: OriginChainBuilder | undefined;
}

/** One route as `/routes` and {@link Gateway.routes} show it. */
export interface RouteSummary {
  id: string;
  priority: number;
  path: string;
  host: string | undefined;
  methods: string[] | undefined;
  origins: string[];
}

/** A gateway: a request handler, its servers, and live reconfiguration. */
export interface Gateway {
  /** The Node request listener, to mount on a server of your own. */
  readonly handler: (req: IncomingMessage, res: ServerResponse) => void;
  /**
   * The Node `upgrade` listener (WebSocket pass-through), to mount next to
   * {@link Gateway.handler} on a server of your own: `server.on('upgrade', gateway.upgradeHandler)`.
   */
  readonly upgradeHandler: {
    (req: IncomingMessage, socket: Duplex, head: Buffer): void;
    /**
     * WebSockets over HTTP/2 (RFC 8441) on a server of your own: create it with
     * `settings: { enableConnectProtocol: true }` and mount this on its `connect`
     * event for HTTP/2 requests: `server.on('connect', (req, res) => req.httpVersionMajor >= 2 && gateway.upgradeHandler.extendedConnect(req, res))`.
     * A `:protocol: websocket` stream is bridged to the origin as an HTTP/1.1
     * upgrade, through the same routes and filters; other CONNECTs are refused.
     */
    extendedConnect(req: Http2ServerRequest, res: Http2ServerResponse): void;
  };
  /** The config in force (validated, defaults filled in). */
  readonly config: GatewayConfig;
  /** The gateway's resilience registry (one command per origin: `gateway.origin.<name>`). */
  readonly registry: CommandRegistry;
  /**
   * Starts the edge server on `server.host:server.port` from the config (or
   * the given ones; port 0 picks a free port) and resolves to its address.
   */
  listen(options?: { port?: number; host?: string }): Promise<AddressInfo>;
  /** Starts the admin listener (also started by `listen` when `admin.enabled`). */
  listenAdmin(options?: { port?: number; host?: string }): Promise<AddressInfo>;
  /**
   * Validates `config` and swaps it in atomically: requests in flight finish
   * on the old routes and origins, new ones use the new. Origins whose config
   * did not change keep their pools, breakers and health state.
   *
   * @throws {InvalidConfigError} naming each bad field; the old config keeps serving.
   */
  reload(config: GatewayConfigInput): void;
  /**
   * Watches a JSON config file and reloads on change. Invalid files are
   * refused (reported to `onError`) and the old config keeps serving.
   * Returns a function that stops watching.
   */
  watchConfigFile(path: string, callbacks?: { onReload?: () => void; onError?: (error: Error) => void }): () => void;
  /**
   * Polls a JSON config at an HTTP(S) URL (with `If-None-Match`, so an
   * unchanged config costs a `304`) and reloads when it changed: validated,
   * swapped in atomically; an invalid config is refused (reported once to
   * `onError`) and the old one keeps serving. Returns a function that stops
   * polling (`close()` stops it too).
   */
  watchConfigUrl(url: string | URL, options?: RemoteConfigOptions): () => void;
  /**
   * Polls a JSON config object in a store (a `@backlot/storage` `ObjectStore`,
   * or anything with `head`/`get` returning an `etag`): the body is read only
   * when the etag changed; then as {@link Gateway.watchConfigUrl}.
   */
  watchConfigObject(store: ConfigObjectStore, key: string, options?: RemoteConfigOptions): () => void;
  /** Reloads the TLS certificate and key from their files, without a restart. */
  reloadCertificates(): void;
  /** The route table, in match order. */
  routes(): RouteSummary[];
  /**
   * Graceful shutdown: stops accepting, lets in-flight requests finish (each
   * closing its connection) up to `timeoutMs` (default `server.shutdownTimeoutMs`),
   * then closes the remaining connections and the origin pools.
   */
  close(options?: { timeoutMs?: number }): Promise<void>;
}

function closeServer(server: Server | EdgeServer | undefined): Promise<void> {
  if (!server?.listening) return Promise.resolve();
  return new Promise((resolve) => server.close(() => resolve()));
}

function listenOn(server: Server | EdgeServer, port: number, host: string): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
}

/**
 * Creates a Zuul-style edge gateway from a config: routes (path, host,
 * method, headers, priorities, rewrites, weighted splits, surgical routing)
 * onto named origins (undici pools with load balancing, health checks,
 * outlier ejection, circuit breakers, retries and adaptive concurrency
 * limits), through inbound / endpoint / outbound filters.
 *
 * @throws {InvalidConfigError} naming each bad field of the config.
 * @example
 * ```ts
 * import { createGateway } from '@backlot/gateway';
 *
 * const gateway = createGateway({
 *   server: { port: 8080 },
 *   origins: {
 *     play: { servers: ['http://127.0.0.1:8081', 'http://127.0.0.1:8082'], balancer: 'least-outstanding' },
 *     playCanary: { servers: ['http://127.0.0.1:8091'] },
 *   },
 *   routes: [
 *     { id: 'play', pathPrefix: '/play', splits: [{ origin: 'play', weight: 95 }, { origin: 'playCanary', weight: 5 }] },
 *   ],
 *   filters: [{ type: 'requestId' }, { type: 'rateLimit', key: 'ip', capacity: 100, refillPerSecond: 50 }],
 * });
 * await gateway.listen();
 * ```
 */
export function createGateway(config: GatewayConfigInput, options: GatewayOptions = {}): Gateway {
  const userFilters = (options.filters ?? []).map((filter) => defineFilter(filter));
  const registry = options.registry ?? new CommandRegistry();
  const parts = { userFilters, registry, generations: new Map<string, number>(), originChain: options.originChain };
  const metrics = new GatewayMetrics();
  const logger = options.logger;
  const parsed = parseConfig(config);
  checkStoreObjects(options.rateLimitStores);
  const filterDeps = { rateLimitStores: options.rateLimitStores, stats: metrics.rateLimit, logger };
  let runtime: Runtime;
  try {
    ({ runtime } = buildRuntime(parsed, parts, undefined, filterDeps));
  } catch (error) {
    throw error instanceof InvalidConfigError
      ? error
      : new InvalidConfigError([(error as Error).message], { cause: error });
  }
  const state = new GatewayState({
    runtime,
    metrics,
    accessLog: createAccessLog(logger, parsed.accessLog),
    protocol: parsed.server.tls ? 'https' : 'http',
  });
  const handler = createHandler(state);
  const upgradeHandler = createUpgradeHandler(state);
  let edge: EdgeServer | undefined;
  let admin: Server | undefined;
  const retiring = new Set<Promise<void>>();
  let closing: Promise<void> | undefined;
  const watchers = new Set<() => void>();

  const track = (stopPolling: () => void): (() => void) => {
    const stop = () => {
      stopPolling();
      watchers.delete(stop);
    };
    watchers.add(stop);
    return stop;
  };

  const retire = (origins: Origin[]) => {
    for (const origin of origins) {
      const closing = origin.close().catch(() => undefined);
      retiring.add(closing);
      void closing.finally(() => retiring.delete(closing));
    }
  };

  metrics.inflight = () => state.inflight;
  const gateway: Gateway = {
    handler,
    upgradeHandler,
    registry,
    get config() {
      return state.runtime.config;
    },

    async listen({ port, host } = {}) {
      const server = state.runtime.config.server;
      edge = createEdgeServer(server, handler, upgradeHandler);
      const address = await listenOn(edge, port ?? server.port, host ?? server.host);
      if (state.runtime.config.admin.enabled && !admin) await gateway.listenAdmin();
      return address;
    },

    async listenAdmin({ port, host } = {}) {
      const adminConfig = state.runtime.config.admin;
      admin = createAdminServer(
        {
          registry,
          ready: () => !state.draining,
          metrics: adminMetrics,
          routes: () => gateway.routes(),
        },
        adminConfig.token,
      );
      return listenOn(admin, port ?? adminConfig.port, host ?? adminConfig.host);
    },

    reload(input) {
      let next: Runtime;
      let retired: Origin[];
      try {
        const parsedNext = parseConfig(input);
        ({ runtime: next, retired } = buildRuntime(parsedNext, parts, state.runtime, filterDeps));
      } catch (error) {
        metrics.reloadFailures++;
        logger?.warn({ err: error }, 'gateway config refused; the previous config keeps serving');
        throw error instanceof InvalidConfigError
          ? error
          : new InvalidConfigError([(error as Error).message], { cause: error });
      }
      state.swap(next, createAccessLog(logger, next.config.accessLog)); // the atomic swap: one reference
      metrics.reloads++;
      retire(retired);
      logger?.info({ routes: next.table.routes.length, origins: next.origins.size }, 'gateway config reloaded');
    },

    watchConfigFile(path, callbacks = {}) {
      let timer: NodeJS.Timeout | undefined;
      let last = '';
      const load = async () => {
        try {
          const { readFile } = await import('node:fs/promises');
          const text = await readFile(path, 'utf8');
          if (text === last) return;
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch (error) {
            throw new InvalidConfigError([`${path}: not valid JSON (${(error as Error).message})`]);
          }
          gateway.reload(json as GatewayConfigInput);
          last = text;
          callbacks.onReload?.();
        } catch (error) {
          callbacks.onError?.(error as Error);
        }
      };
      void import('node:fs').then(({ readFileSync }) => {
        try {
          last = readFileSync(path, 'utf8');
        } catch {
          last = '';
        }
      });
      const { dirname, basename } = pathParts(path);
      const watcher = watch(dirname, (_event, file) => {
        if (file !== null && file !== basename) return;
        clearTimeout(timer);
        timer = setTimeout(load, 50);
      });
      const stop = () => {
        clearTimeout(timer);
        watcher.close();
        watchers.delete(stop);
      };
      watchers.add(stop);
      return stop;
    },

    watchConfigUrl(url, options = {}) {
      return track(pollConfig(String(url), urlFetcher(url, options), (config) => gateway.reload(config), options));
    },

    watchConfigObject(store, key, options = {}) {
      return track(pollConfig(key, objectFetcher(store, key, options), (config) => gateway.reload(config), options));
    },

    reloadCertificates() {
      const tls = state.runtime.config.server.tls;
      if (!tls || !edge || !('setSecureContext' in edge)) return;
      edge.setSecureContext(readTls(tls));
    },

    routes() {
      return state.runtime.table.routes.map((route) => ({
        id: route.id,
        priority: route.priority,
        path: route.config.path ?? route.config.pathPrefix ?? '/',
        host: route.config.host,
        methods: route.config.methods,
        origins: [
          ...new Set([
            ...(route.config.origin ? [route.config.origin] : []),
            ...(route.config.splits ?? []).map((s) => s.origin),
            ...(route.config.surgical ?? []).map((s) => s.origin),
          ]),
        ],
      }));
    },

    close(options = {}) {
      closing ??= closeAll(options);
      return closing;
    },
  };

  async function closeAll({ timeoutMs }: { timeoutMs?: number | undefined }): Promise<void> {
    {
      const idle = state.drain(timeoutMs ?? state.runtime.config.server.shutdownTimeoutMs);
      for (const stop of [...watchers]) stop();
      const server = edge;
      const closed = closeServer(server);
      if (server && 'closeIdleConnections' in server) server.closeIdleConnections();
      await idle;
      // Tunnels (WebSockets) still open at the deadline are closed with the remaining connections.
      state.closeTunnels();
      if (server && 'closeAllConnections' in server) server.closeAllConnections();
      await closed;
      await closeServer(admin);
      const origins = [...state.runtime.origins.values()];
      await Promise.all([...origins.map((o) => (state.inflight > 0 ? o.destroy() : o.close())), ...retiring]);
      liveGateways.delete(gateway);
    }
  }
  trackGateway(gateway, { metrics, registry });
  const adminMetrics = createAdminMetrics(gateway);
  return gateway;
}

function pathParts(path: string): { dirname: string; basename: string } {
  const slash = Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\'));
  return slash === -1
    ? { dirname: '.', basename: path }
    : { dirname: path.slice(0, slash) || '/', basename: path.slice(slash + 1) };
}
