import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { toHystrixCollapser, toHystrixCommand, toHystrixThreadPool } from './hystrix-json.js';
import type { MetricsSource } from './metrics-source.js';

/** Options of {@link createHystrixStream}. */
export interface HystrixStreamOptions {
  /** Time between samples (default 500 ms, Hystrix's). */
  intervalMs?: number | undefined;
  /** Concurrent stream clients; more get `503` (default 10). */
  maxClients?: number | undefined;
}

/** A `text/event-stream` of Hystrix dashboard samples. */
export interface HystrixStream {
  /** The Node request listener: mount it at e.g. `/hystrix.stream`. */
  readonly handler: (req: IncomingMessage, res: ServerResponse) => void;
  /** Clients connected now. */
  readonly clients: number;
  /** Ends every client's stream and stops the timer. */
  close(): void;
}

const optionsSchema = z.object({
  intervalMs: z
    .number()
    .int()
    .min(10, 'intervalMs must be at least 10')
    .max(60_000, 'intervalMs must be at most 60000')
    .optional(),
  maxClients: z
    .number()
    .int()
    .min(1, 'maxClients must be between 1 and 1000')
    .max(1000, 'maxClients must be between 1 and 1000')
    .optional(),
});

/**
 * Serves the registry's metrics as Hystrix's metrics event stream, so that a
 * Hystrix dashboard or a Turbine-style aggregator can read a Backlot service:
 * every `intervalMs`, one `data: <json>` line per command (`HystrixCommand`),
 * per group (`HystrixThreadPool`) and per collapser (`HystrixCollapser`), then a `ping:` line; no `event:` lines.
 * One timer serves every client, and only while there is one; a client that
 * goes away is simply dropped.
 *
 * @example
 * ```ts
 * const stream = createHystrixStream(defaultRegistry);
 * http.createServer((req, res) => {
 *   if (req.url === '/hystrix.stream') return stream.handler(req, res);
 * });
 * ```
 */
export function createHystrixStream(source: MetricsSource, options: HystrixStreamOptions = {}): HystrixStream {
  const parsed = optionsSchema.safeParse(options);
  if (!parsed.success) throw new TypeError(`createHystrixStream: ${z.prettifyError(parsed.error)}`);
  const intervalMs = parsed.data.intervalMs ?? 500;
  const maxClients = parsed.data.maxClients ?? 10;
  const clients = new Set<ServerResponse>();
  let timer: NodeJS.Timeout | undefined;

  const sample = (): string => {
    const now = Date.now();
    const groups = source.groupMetrics();
    const byGroup = new Map(groups.map((g) => [g.group, g]));
    let out = '';
    for (const m of source.commandMetrics()) {
      out += `data: ${JSON.stringify(toHystrixCommand(m, byGroup.get(m.group), now))}\n\n`;
    }
    for (const g of groups) out += `data: ${JSON.stringify(toHystrixThreadPool(g, now))}\n\n`;
    for (const c of source.collapserMetrics?.() ?? []) {
      out += `data: ${JSON.stringify(toHystrixCollapser(c, now))}\n\n`;
    }
    return `${out}ping: \n\n`;
  };

  const tick = () => {
    const chunk = sample();
    for (const res of clients) {
      if (!res.writableEnded && !res.destroyed) res.write(chunk);
    }
  };

  const drop = (res: ServerResponse) => {
    clients.delete(res);
    if (clients.size === 0 && timer) {
      clearInterval(timer);
      timer = undefined;
    }
  };

  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    if (clients.size >= maxClients) {
      res.writeHead(503, { 'content-type': 'text/plain', 'retry-after': '5' });
      res.end(`the Hystrix stream has its maximum of ${maxClients} clients; try again later\n`);
      return;
    }
    res.writeHead(200, {
      'content-type': 'text/event-stream;charset=UTF-8',
      'cache-control': 'no-cache, no-store, max-age=0, must-revalidate',
      pragma: 'no-cache',
      connection: 'keep-alive',
    });
    res.flushHeaders();
    clients.add(res);
    req.on('close', () => drop(res));
    res.on('close', () => drop(res));
    res.on('error', () => drop(res));
    res.write(sample());
    if (!timer) {
      timer = setInterval(tick, intervalMs);
      timer.unref();
    }
  };

  return {
    handler,
    get clients() {
      return clients.size;
    },
    close() {
      for (const res of clients) res.end();
      clients.clear();
      if (timer) clearInterval(timer);
      timer = undefined;
    },
  };
}
