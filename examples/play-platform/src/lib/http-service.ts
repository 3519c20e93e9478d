import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';

/** A JSON answer: status and body. */
export interface Reply {
  status: number;
  body: unknown;
}

/** What a route handler receives. */
export interface RouteRequest {
  params: Record<string, string>;
  query: URLSearchParams;
  body: unknown;
  headers: IncomingMessage['headers'];
  signal: AbortSignal;
}

/** One route of a service: `GET /titles/:id`. */
export interface ServiceRoute {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  path: string;
  handle(request: RouteRequest): Promise<Reply> | Reply;
}

/**
 * Faults a service can be told to inject (the chaos controls): answer slowly,
 * fail a share of requests, or be down altogether. Set in process through
 * `service.chaos`, or over HTTP at `PUT /_chaos` when the service was
 * created with a `chaosToken` (off otherwise).
 */
export interface Chaos {
  latencyMs: number;
  failureRate: number;
  down: boolean;
}

const chaosSchema = z.object({
  latencyMs: z.number().int().min(0).max(60_000).default(0),
  failureRate: z.number().min(0).max(1).default(0),
  down: z.boolean().default(false),
});

/** A small HTTP service: its routes, its chaos switch, and how to start and stop it. */
export interface HttpService {
  readonly name: string;
  readonly chaos: Chaos;
  listen(port?: number, host?: string): Promise<string>;
  close(): Promise<void>;
  readonly url: string;
}

/** Raised by handlers for a clean 4xx answer. */
export class HttpError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

/** Parses `input` with `schema` or throws a 400 naming the fields. */
export function parse<T>(schema: z.ZodType<T>, input: unknown): T {
  const result = schema.safeParse(input);
  if (!result.success) throw new HttpError(400, z.prettifyError(result.error));
  return result.data;
}

function compile(path: string): { regex: RegExp; names: string[] } {
  const names: string[] = [];
  const pattern = path.replace(/:([a-zA-Z]+)/g, (_, name: string) => {
    names.push(name);
    return '([^/]+)';
  });
  return { regex: new RegExp(`^${pattern}$`), names };
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > 1024 * 1024) throw new HttpError(413, 'body over 1 MiB');
    chunks.push(chunk as Buffer);
  }
  if (chunks.length === 0) return undefined;
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new HttpError(400, 'body must be JSON');
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent || res.destroyed) return;
  const json = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) });
  res.end(json);
}

/** Options of {@link createHttpService}. */
export interface HttpServiceOptions {
  /**
   * Turns on `GET|PUT /_chaos` over HTTP, for callers sending this value in
   * `x-chaos-token` (401 otherwise). Without it the endpoint does not exist
   * (404): fault injection is never open by default.
   */
  chaosToken?: string | undefined;
}

const sameToken = (given: string | string[] | undefined, expected: string) => {
  if (typeof given !== 'string') return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
};

/**
 * Creates a stateless JSON-over-HTTP microservice. Every service also answers
 * `GET /health`, and with a `chaosToken` takes chaos settings at `PUT /_chaos`.
 */
export function createHttpService(name: string, routes: ServiceRoute[], options: HttpServiceOptions = {}): HttpService {
  const compiled = routes.map((route) => ({ route, ...compile(route.path) }));
  const chaos: Chaos = { latencyMs: 0, failureRate: 0, down: false };
  let url = '';

  const server: Server = createServer(async (req, res) => {
    const target = new URL(req.url ?? '/', 'http://service');
    const aborted = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) aborted.abort();
    });
    try {
      if (req.method === 'GET' && target.pathname === '/health') {
        return send(res, chaos.down ? 503 : 200, { service: name, status: chaos.down ? 'down' : 'up' });
      }
      if (target.pathname === '/_chaos' && options.chaosToken !== undefined) {
        if (!sameToken(req.headers['x-chaos-token'], options.chaosToken)) {
          return send(res, 401, { error: 'unauthorized', message: 'chaos needs the x-chaos-token header' });
        }
        if (req.method === 'PUT') {
          Object.assign(chaos, parse(chaosSchema, await readJson(req)));
          return send(res, 200, { service: name, chaos });
        }
        if (req.method === 'GET') return send(res, 200, { service: name, chaos });
      }
      if (chaos.down) {
        res.destroy(); // a dead process: the connection just drops
        return;
      }
      if (chaos.latencyMs > 0) await sleep(chaos.latencyMs, undefined, { signal: aborted.signal });
      if (chaos.failureRate > 0 && Math.random() < chaos.failureRate) {
        return send(res, 500, { error: 'injected_failure', service: name });
      }
      for (const { route, regex, names } of compiled) {
        if (route.method !== req.method) continue;
        const match = regex.exec(target.pathname);
        if (!match) continue;
        const params = Object.fromEntries(names.map((n, i) => [n, decodeURIComponent(match[i + 1] ?? '')]));
        const body = req.method === 'GET' || req.method === 'DELETE' ? undefined : await readJson(req);
        const reply = await route.handle({
          params,
          query: target.searchParams,
          body,
          headers: req.headers,
          signal: aborted.signal,
        });
        return send(res, reply.status, reply.body);
      }
      send(res, 404, { error: 'not_found', service: name });
    } catch (error) {
      if (aborted.signal.aborted) return;
      if (error instanceof HttpError) return send(res, error.status, { error: 'bad_request', message: error.message });
      send(res, 500, { error: 'internal', service: name, message: (error as Error).message });
    }
  });

  return {
    name,
    chaos,
    get url() {
      return url;
    },
    listen: (port = 0, host = '127.0.0.1') =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          url = `http://${host}:${(server.address() as AddressInfo).port}`;
          resolve(url);
        });
      }),
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
