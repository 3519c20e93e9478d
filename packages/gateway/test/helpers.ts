import { createHash } from 'node:crypto';
import {
  createServer,
  request as httpRequestRaw,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import type { Duplex } from 'node:stream';
import { Registry } from 'prom-client';
import { afterEach } from 'vitest';
import {
  createGateway,
  type Gateway,
  type GatewayConfigInput,
  type GatewayOptions,
  registerPrometheusMetrics,
} from '../src/index.js';

export type Handler = (req: IncomingMessage, res: ServerResponse) => void;
const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  while (cleanups.length) await cleanups.pop()?.();
});

/** Registers a cleanup run after the current test. */
export function onCleanup(cleanup: () => Promise<void>): void {
  cleanups.push(cleanup);
}

/** Starts a node:http origin on a free loopback port. */
export async function startOrigin(handler: Handler): Promise<string> {
  const server: Server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/**
 * Origins that answer their name and record every request they receive as
 * `name url` in `hits` (one shared list: what got past the gateway, in order).
 */
export async function startRecordingOrigins<N extends string>(
  ...names: N[]
): Promise<{ hits: string[]; urls: Record<N, string> }> {
  const hits: string[] = [];
  const urls = {} as Record<N, string>;
  for (const name of names) {
    urls[name] = await startOrigin((req, res) => {
      hits.push(`${name} ${req.url}`);
      req.resume();
      res.end(name);
    });
  }
  return { hits, urls };
}

/** The WebSocket GUID of RFC 6455. */
const WEBSOCKET_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** The `sec-websocket-accept` an origin answers to a `sec-websocket-key` (RFC 6455 §4.2.2). */
export function websocketAccept(key: string): string {
  return createHash('sha1')
    .update(key + WEBSOCKET_GUID)
    .digest('base64');
}

/**
 * Listens with an origin that takes upgrades on a free loopback port; after
 * the test, destroys the upgraded `sockets` it tracks and closes. Returns its URL.
 */
export async function listenUpgradeOrigin(server: Server, sockets: Set<Duplex>): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(async () => {
    for (const socket of sockets) socket.destroy();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** An origin that answers with what it received, as JSON. */
export const echo: Handler = (req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    const body = JSON.stringify({
      method: req.method,
      url: req.url,
      headers: req.headers,
      body: Buffer.concat(chunks).toString(),
    });
    res.writeHead(200, { 'content-type': 'application/json', 'x-origin': 'echo' });
    res.end(body);
  });
};

/** An origin that answers its name. */
export const named =
  (name: string): Handler =>
  (req, res) => {
    req.resume();
    req.on('end', () => res.end(name));
  };

/** Starts a gateway on a free port; closed after the test. */
export async function startGateway(config: GatewayConfigInput, options?: GatewayOptions): Promise<[Gateway, string]> {
  const gateway = createGateway(config, options);
  const { port } = await gateway.listen({ port: 0, host: '127.0.0.1' });
  cleanups.push(() => gateway.close({ timeoutMs: 1000 }));
  return [gateway, `http://127.0.0.1:${port}`];
}

/** Sends raw bytes on a new TCP connection and resolves to everything read until the server closes (or `untilMs`). */
export function rawRequest(base: string, data: string | Buffer, untilMs = 2000): Promise<string> {
  const { port } = new URL(base);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => socket.end(), untilMs);
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('latin1'));
    });
    socket.write(data);
  });
}

/** Status code of the first response in raw HTTP text. */
export function rawStatus(text: string): number {
  return Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
}

/** Waits until `check` is true (polling), or fails after `ms`. */
export async function until(check: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Fetches and returns the status and JSON/text body. */
export async function get(
  url: string,
  init?: RequestInit,
): Promise<{ status: number; text: string; headers: Headers }> {
  const response = await fetch(url, init);
  return { status: response.status, text: await response.text(), headers: response.headers };
}

/** A request with node:http (which, unlike fetch, may set `Host` and other forbidden headers). */
export function httpRequest(
  base: string,
  path: string,
  options: { method?: string; headers?: Record<string, string | string[]>; body?: string | Buffer } = {},
): Promise<{ status: number; headers: import('node:http').IncomingHttpHeaders; text: string }> {
  return new Promise((resolve, reject) => {
    const url = new URL(base);
    const req = httpRequestRaw(
      { host: url.hostname, port: url.port, path, method: options.method ?? 'GET', headers: options.headers ?? {} },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString() }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

/**
 * The value of one series of the gateway's prom-client families (a fresh
 * registry per call, the gateway's own families only), or undefined when
 * the series is absent.
 */
export async function gatewayMetric(
  gateway: Gateway,
  name: string,
  labels: Record<string, string> = {},
): Promise<number | undefined> {
  const registry = new Registry();
  const unregister = registerPrometheusMetrics(registry, { gateways: [gateway], commands: false });
  try {
    const family = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
    const series = family?.values.find((v) =>
      Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want),
    );
    return series?.value;
  } finally {
    unregister();
  }
}
