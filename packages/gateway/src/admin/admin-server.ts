import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { type CommandRegistry, createHystrixStream } from '@backlot/resilience';
import type { MetricsExposition } from './admin-metrics.js';

/** What the admin listener shows. @internal */
export interface AdminSource {
  readonly registry: CommandRegistry;
  ready(): boolean;
  /** The `/metrics` exposition for a scraper's `Accept` header. */
  metrics(accept: string | undefined): Promise<MetricsExposition>;
  routes(): unknown;
}

const digest = (value: string) => createHash('sha256').update(value).digest();

/**
 * The admin listener (its own port): `/health`, `/ready`, `/metrics`
 * (prom-client: process metrics, gateway traffic and the origins' resilience
 * commands; OpenMetrics when the `Accept` header asks for it),
 * `/routes`, and `/hystrix.stream`. With a token, every path needs
 * `Authorization: Bearer <token>` (compared in constant time); without one
 * it may only listen on loopback.
 */
export function createAdminServer(source: AdminSource, token: string | undefined): Server {
  const expected = token === undefined ? undefined : digest(token);
  const stream = createHystrixStream(source.registry);
  const json = (res: ServerResponse, status: number, body: unknown) => {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  };
  const server = createServer(
    { headersTimeout: 5000, requestTimeout: 0 },
    (req: IncomingMessage, res: ServerResponse) => {
      if (expected) {
        const header = req.headers.authorization ?? '';
        const given = header.startsWith('Bearer ') ? header.slice(7) : '';
        if (!timingSafeEqual(digest(given), expected)) {
          json(res, 401, { error: 'unauthorized', message: 'admin needs Authorization: Bearer <token>' });
          return;
        }
      }
      const path = (req.url ?? '/').split('?')[0];
      switch (path) {
        case '/health':
          return json(res, 200, { status: 'ok' });
        case '/ready':
          return source.ready() ? json(res, 200, { status: 'ready' }) : json(res, 503, { status: 'draining' });
        case '/metrics':
          source.metrics(req.headers.accept).then(
            ({ contentType, text }) => {
              res.writeHead(200, { 'content-type': contentType, 'content-length': Buffer.byteLength(text) });
              res.end(text);
            },
            (error: unknown) => {
              const code = (error as { code?: unknown })?.code;
              if (code === 'BACKLOT_MISSING_PEER') {
                json(res, 501, { error: 'prom_client_missing', message: (error as Error).message });
              } else json(res, 500, { error: 'metrics_failed', message: String((error as Error)?.message ?? error) });
            },
          );
          return;
        case '/routes':
          return json(res, 200, source.routes());
        case '/hystrix.stream':
          return stream.handler(req, res);
        default:
          return json(res, 404, {
            error: 'not_found',
            message: 'admin paths: /health /ready /metrics /routes /hystrix.stream',
          });
      }
    },
  );
  server.on('close', () => stream.close());
  return server;
}
