import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { registerPrometheusMetrics } from '@backlot/events';
import { Registry } from 'prom-client';
import { z } from 'zod';
import { type BrokerControl, BrokerControlError } from './broker-control.ts';
import { dashboardPage } from './dashboard-page.ts';
import { createSnapshotter, type EdgeSource, type SnapshotSources } from './snapshot.ts';

/** Options of {@link startAdminServer}. */
export interface AdminOptions {
  /** Port on 127.0.0.1 (default 0: a free one). */
  port?: number;
  /** Token the chaos endpoints require in `x-chaos-token` (default: a random one). */
  token?: string;
  /** Real mode: stops and starts the broker (`POST /api/chaos/broker/stop|start`). */
  broker?: BrokerControl | undefined;
}

/** The platform's admin listener: the dashboard, its data, and the chaos controls. */
export interface AdminServer {
  /** `http://127.0.0.1:<port>`: open it in a browser for the dashboard. */
  readonly url: string;
  /** What the chaos endpoints require in the `x-chaos-token` header. */
  readonly token: string;
  /** Shows this edge's traffic (and offers its chaos controls). */
  setEdge(edge: EdgeSource | undefined): void;
  close(): Promise<void>;
}

const serviceChaos = z
  .object({
    latencyMs: z.number().int().min(0).max(60_000).optional(),
    failureRate: z.number().min(0).max(1).optional(),
    down: z.boolean().optional(),
  })
  .strict();

function json(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  });
  res.end(text);
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > 64 * 1024) throw new Error('body over 64 KiB');
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? JSON.parse(text) : {};
}

const sameToken = (given: string | string[] | undefined, expected: Buffer) =>
  typeof given === 'string' && given.length === expected.length && timingSafeEqual(Buffer.from(given), expected);

/**
 * Starts the admin listener on 127.0.0.1 only:
 *
 * - `GET /` the dashboard (one self-contained page), `GET /api/snapshot`
 *   (JSON), `GET /api/stream` (the same every 500 ms as `text/event-stream`),
 *   `GET /api/traces` (the latest plays' traces, as waterfalls);
 *   `GET /metrics` (Prometheus: `@backlot/events`' families, the stream
 *   processor's state per partition among them);
 * - chaos, each needing the `x-chaos-token` header: `POST /api/chaos/service/:name`
 *   `{ latencyMs, failureRate, down }`, `POST /api/chaos/heal`,
 *   `POST /api/chaos/gateway/:index/kill` (fleet), `POST /api/chaos/broker/stop|start` (real mode).
 *
 * The token is embedded in the dashboard page, so what it guards against is
 * other web pages in your browser (a custom header cannot be sent
 * cross-origin without a preflight, which is never granted) and DNS
 * rebinding (the `Host` header must name the loopback address). The
 * services' own HTTP chaos endpoint is off; faults are set in process.
 */
export async function startAdminServer(sources: SnapshotSources, options: AdminOptions = {}): Promise<AdminServer> {
  const token = options.token ?? randomBytes(16).toString('hex');
  const expected = Buffer.from(token);
  const broker = options.broker;
  const snapshotter = createSnapshotter(sources);
  let edge: EdgeSource | undefined;
  let port = 0;
  const snapshot = () =>
    snapshotter(edge, {
      available: Boolean(broker),
      brokers: broker?.brokers ?? [],
      stopped: broker?.stopped ?? false,
    });
  const streams = new Set<ServerResponse>();
  // Prometheus: the events families (producers, and the stream processor's lag, checkpoints and
  // state per partition: backlot_pipeline_state_bytes, _restore_seconds, _last_checkpoint_timestamp_seconds).
  const metrics = new Registry();
  const unregisterEvents = registerPrometheusMetrics(metrics);

  const chaos = async (path: string, body: unknown): Promise<[number, unknown]> => {
    const service = /^\/api\/chaos\/service\/([^/]+)$/.exec(path);
    if (service) {
      const name = decodeURIComponent(service[1] as string);
      const target = Object.entries(sources.services).find(([key, s]) => key === name || s.name === name)?.[1];
      if (!target)
        return [404, { error: 'unknown_service', known: Object.values(sources.services).map((s) => s.name) }];
      const parsed = serviceChaos.safeParse(body);
      if (!parsed.success) return [400, { error: 'bad_request', message: z.prettifyError(parsed.error) }];
      for (const [key, value] of Object.entries(parsed.data)) {
        if (value !== undefined) Object.assign(target.chaos, { [key]: value });
      }
      return [200, { service: target.name, chaos: target.chaos }];
    }
    if (path === '/api/chaos/heal') {
      for (const s of Object.values(sources.services))
        Object.assign(s.chaos, { latencyMs: 0, failureRate: 0, down: false });
      return [200, { healed: Object.values(sources.services).map((s) => s.name) }];
    }
    const kill = /^\/api\/chaos\/gateway\/(\d+)\/kill$/.exec(path);
    if (kill) {
      if (!edge?.kill)
        return [409, { error: 'not_available', message: 'killing a gateway needs the fleet (npm start)' }];
      await edge.kill(Number(kill[1]));
      return [200, { killed: Number(kill[1]) }];
    }
    const brokerAction = /^\/api\/chaos\/broker\/(stop|start)$/.exec(path);
    if (brokerAction) {
      if (!broker) return [409, { error: 'not_available', message: 'the broker can be stopped in real mode only' }];
      try {
        await (brokerAction[1] === 'stop' ? broker.stop() : broker.start());
      } catch (error) {
        if (error instanceof BrokerControlError) return [409, { error: error.code, message: error.message }];
        throw error;
      }
      return [200, { broker: broker.brokers, stopped: broker.stopped }];
    }
    return [404, { error: 'not_found' }];
  };

  const server: Server = createServer(async (req, res) => {
    try {
      const host = req.headers.host ?? '';
      if (host !== `127.0.0.1:${port}` && host !== `localhost:${port}`) {
        return json(res, 421, { error: 'wrong_host', message: `open http://127.0.0.1:${port}/` });
      }
      const path = new URL(req.url ?? '/', 'http://admin').pathname;
      if (req.method === 'GET' && path === '/') {
        const page = dashboardPage(token);
        res.writeHead(200, {
          'content-type': 'text/html; charset=utf-8',
          'content-length': Buffer.byteLength(page),
          'cache-control': 'no-store',
          'content-security-policy':
            "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src data:",
          'x-frame-options': 'DENY',
        });
        return res.end(page);
      }
      if (req.method === 'GET' && path === '/api/snapshot') return json(res, 200, await snapshot());
      if (req.method === 'GET' && path === '/api/traces') {
        // The latest plays' traces as waterfalls (empty without an OpenTelemetry SDK, e.g. --trace-sample 0).
        return json(res, 200, { tracing: Boolean(sources.traces), traces: sources.traces?.latest(5) ?? [] });
      }
      if (req.method === 'GET' && path === '/metrics') {
        const text = await metrics.metrics();
        res.writeHead(200, {
          'content-type': metrics.contentType,
          'content-length': Buffer.byteLength(text),
          'cache-control': 'no-store',
        });
        return res.end(text);
      }
      if (req.method === 'GET' && path === '/api/stream') {
        res.writeHead(200, {
          'content-type': 'text/event-stream',
          'cache-control': 'no-store',
          connection: 'keep-alive',
        });
        streams.add(res);
        let sending = false;
        const send = async () => {
          if (sending) return;
          sending = true;
          try {
            res.write(`data: ${JSON.stringify(await snapshot())}\n\n`);
          } finally {
            sending = false;
          }
        };
        const timer = setInterval(() => void send().catch(() => res.destroy()), 500);
        res.on('close', () => {
          clearInterval(timer);
          streams.delete(res);
        });
        return void send().catch(() => res.destroy());
      }
      if (req.method === 'POST' && path.startsWith('/api/chaos/')) {
        if (!sameToken(req.headers['x-chaos-token'], expected)) {
          return json(res, 401, { error: 'unauthorized', message: 'chaos needs the x-chaos-token header' });
        }
        let body: unknown;
        try {
          body = await readJson(req);
        } catch {
          return json(res, 400, { error: 'bad_request', message: 'body must be JSON' });
        }
        const [status, answer] = await chaos(path, body);
        return json(res, status, answer);
      }
      json(res, 404, {
        error: 'not_found',
        message: 'admin paths: / /metrics /api/snapshot /api/stream /api/traces /api/chaos/…',
      });
    } catch (error) {
      json(res, 500, { error: 'internal', message: (error as Error).message });
    }
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      port = (server.address() as AddressInfo).port;
      resolve();
    });
  });

  return {
    url: `http://127.0.0.1:${port}`,
    token,
    setEdge(next) {
      edge = next;
    },
    close: () =>
      new Promise((resolve) => {
        unregisterEvents();
        for (const stream of streams) stream.destroy();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
