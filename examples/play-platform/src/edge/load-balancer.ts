import type { AddressInfo } from 'node:net';
import { connect, createServer, type Server, type Socket } from 'node:net';

/** A backend of the load balancer: a gateway instance. */
export interface Backend {
  host: string;
  port: number;
  /** Path answered with 2xx when the instance is healthy (HTTP GET). */
  healthPath: string;
}

/** Options of {@link createLoadBalancer}. */
export interface LoadBalancerOptions {
  backends: Backend[];
  /** Time between active health checks (default 500 ms). */
  healthIntervalMs?: number;
  /** Consecutive failed checks before a backend is taken out (default 2). */
  unhealthyAfter?: number;
}

interface BackendState extends Backend {
  healthy: boolean;
  failures: number;
  /** Connections open now. */
  connections: number;
  /** Connections handed to this backend since start. */
  accepted: number;
}

/**
 * The ELB role in the example: a layer-4 (TCP) load balancer with active
 * health checks. Each client connection goes to the next healthy backend;
 * if connecting to it fails, the next one is tried before a single byte of
 * the client's request is forwarded, so a gateway instance that died loses
 * no request that had not reached it. Instances failing their health checks
 * stop getting new connections until they pass again.
 */
export function createLoadBalancer(options: LoadBalancerOptions): {
  listen(port: number, host?: string): Promise<AddressInfo>;
  readonly backends: readonly Readonly<BackendState>[];
  /** Points backend `index` at a replacement instance (healthy at once: it answered ready). */
  replaceBackend(index: number, backend: Pick<Backend, 'host' | 'port'>): void;
  close(): Promise<void>;
} {
  const backends: BackendState[] = options.backends.map((b) => ({
    ...b,
    healthy: true,
    failures: 0,
    connections: 0,
    accepted: 0,
  }));
  const unhealthyAfter = options.unhealthyAfter ?? 2;
  let next = 0;
  const sockets = new Set<Socket>();

  const pick = (exclude: Set<BackendState>): BackendState | undefined => {
    for (let i = 0; i < backends.length; i++) {
      const candidate = backends[(next + i) % backends.length] as BackendState;
      if (candidate.healthy && !exclude.has(candidate)) {
        next = (next + i + 1) % backends.length;
        return candidate;
      }
    }
    return undefined;
  };

  const server: Server = createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.pause(); // hold the request bytes until an upstream accepted the connection
    const tried = new Set<BackendState>();
    const attempt = () => {
      const backend = pick(tried);
      if (!backend) {
        client.destroy();
        return;
      }
      tried.add(backend);
      const upstream = connect(backend.port, backend.host);
      sockets.add(upstream);
      const onConnectError = () => {
        upstream.destroy();
        backend.failures = unhealthyAfter; // a refused connection is proof enough
        backend.healthy = false;
        attempt();
      };
      upstream.once('error', onConnectError);
      upstream.once('connect', () => {
        upstream.off('error', onConnectError);
        backend.connections++;
        backend.accepted++;
        upstream.on('close', () => {
          backend.connections--;
          sockets.delete(upstream);
        });
        upstream.on('error', () => client.destroy());
        client.on('error', () => upstream.destroy());
        client.pipe(upstream).pipe(client);
        client.resume();
      });
    };
    attempt();
  });

  const check = async (backend: BackendState) => {
    try {
      const response = await fetch(`http://${backend.host}:${backend.port}${backend.healthPath}`, {
        signal: AbortSignal.timeout(1000),
      });
      await response.arrayBuffer();
      if (!response.ok) throw new Error(String(response.status));
      backend.failures = 0;
      backend.healthy = true;
    } catch {
      backend.failures++;
      if (backend.failures >= unhealthyAfter) backend.healthy = false;
    }
  };
  const timer = setInterval(() => {
    for (const backend of backends) void check(backend);
  }, options.healthIntervalMs ?? 500);
  timer.unref();

  return {
    backends,
    replaceBackend(index, { host, port }) {
      const state = backends[index];
      if (!state) throw new RangeError(`no backend ${index}`);
      Object.assign(state, { host, port, healthy: true, failures: 0 });
    },
    listen: (port, host = '127.0.0.1') =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => resolve(server.address() as AddressInfo));
      }),
    close: () =>
      new Promise((resolve) => {
        clearInterval(timer);
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
