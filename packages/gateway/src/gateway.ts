import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pipeline } from 'node:stream/promises';
import { Pool, errors as undiciErrors } from 'undici';
import { z } from 'zod';
import { withForwarded, withoutHopByHop } from './proxy/headers.js';
import { type RouteConfig, RouteTable } from './routing/route-table.js';

/** Options of {@link createGateway}. */
export interface GatewayOptions {
  /** The route table. */
  routes: RouteConfig[];
  /** Time to wait for an origin's response headers, in ms (default 10 000). */
  originTimeoutMs?: number | undefined;
  /** Keep-alive connections per origin (default 64). */
  connectionsPerOrigin?: number | undefined;
}

/** A running-or-ready gateway. */
export interface Gateway {
  /** The Node request listener, to mount on a server of your own. */
  readonly handler: (req: IncomingMessage, res: ServerResponse) => void;
  /** Starts an HTTP server on `host:port` (default 127.0.0.1, a free port) and resolves to its address. */
  listen(options?: { port?: number; host?: string }): Promise<AddressInfo>;
  /** Stops accepting requests, waits for those in flight, and closes origin connections. */
  close(): Promise<void>;
}

const optionsSchema = z.object({
  routes: z.array(z.unknown(), { error: 'routes is required: an array of { id, pathPrefix, origin }' }),
  originTimeoutMs: z.number().int().positive('originTimeoutMs must be a positive number of ms').optional(),
  connectionsPerOrigin: z.number().int().positive('connectionsPerOrigin must be a positive integer').optional(),
});

function sendError(res: ServerResponse, status: number, error: string, message: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = JSON.stringify({ error, message });
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function failureStatus(error: unknown): [number, string] {
  if (error instanceof undiciErrors.HeadersTimeoutError || error instanceof undiciErrors.BodyTimeoutError) {
    return [504, 'origin_timeout'];
  }
  return [502, 'origin_unavailable'];
}

/**
 * Creates an edge gateway that routes each request by path prefix to an origin
 * and streams the request and response through undici connection pools.
 *
 * @example
 * ```ts
 * const gateway = createGateway({
 *   routes: [{ id: 'play', pathPrefix: '/play', origin: 'http://127.0.0.1:8081' }],
 * });
 * const { port } = await gateway.listen({ port: 8080 });
 * ```
 */
export function createGateway(options: GatewayOptions): Gateway {
  const parsed = optionsSchema.safeParse(options);
  if (!parsed.success) throw new TypeError(`createGateway: ${z.prettifyError(parsed.error)}`);
  const table = new RouteTable(options.routes);
  const originTimeoutMs = parsed.data.originTimeoutMs ?? 10_000;
  const connections = parsed.data.connectionsPerOrigin ?? 64;

  const pools = new Map<string, Pool>();
  for (const route of table.routes) {
    const { origin } = route.origin;
    if (!pools.has(origin)) {
      pools.set(
        origin,
        new Pool(origin, { connections, headersTimeout: originTimeoutMs, bodyTimeout: originTimeoutMs }),
      );
    }
  }

  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const match = table.match(req.url ?? '/');
    if (!match) {
      sendError(res, 404, 'no_route', `no route for ${req.method} ${req.url}`);
      return;
    }
    const pool = pools.get(match.route.origin.origin) as Pool;
    const abort = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) abort.abort();
    });
    const hasBody = req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
    const headers = withForwarded(withoutHopByHop(req.headers), req.headers, req.socket.remoteAddress, 'http');

    pool
      .request({
        path: match.upstreamPath,
        method: req.method ?? 'GET',
        headers,
        body: hasBody ? req : null,
        signal: abort.signal,
      })
      .then(async (upstream) => {
        res.writeHead(upstream.statusCode, withoutHopByHop(upstream.headers));
        await pipeline(upstream.body, res);
      })
      .catch((error: unknown) => {
        if (abort.signal.aborted) return; // the client went away: nothing to answer
        const [status, code] = failureStatus(error);
        sendError(res, status, code, `route '${match.route.id}': ${(error as Error).message}`);
      });
  };

  let server: Server | undefined;

  return {
    handler,

    listen({ port = 0, host = '127.0.0.1' } = {}) {
      server = createServer(handler);
      const listening = server;
      return new Promise((resolve, reject) => {
        listening.once('error', reject);
        listening.listen(port, host, () => {
          listening.off('error', reject);
          resolve(listening.address() as AddressInfo);
        });
      });
    },

    async close() {
      if (server) {
        const closing = server;
        const closed = new Promise<void>((resolve, reject) =>
          closing.close((error) => (error ? reject(error) : resolve())),
        );
        closing.closeIdleConnections(); // keep-alive sockets with no request in flight
        await closed;
      }
      await Promise.all([...pools.values()].map((pool) => pool.close()));
    },
  };
}
