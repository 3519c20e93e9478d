import { randomBytes } from 'node:crypto';
import { type IncomingHttpHeaders, type IncomingMessage, STATUS_CODES, validateHeaderValue } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import type { Duplex } from 'node:stream';
import { responseHeaders } from '../proxy/headers.js';
import { checkUpgradeRequest, type UpgradeVerdict, WEBSOCKET } from '../security/upgrade-policy.js';
import type { ClientClosed, ClientHeaders, UpgradeSide } from './client-side.js';

/** Writes a whole HTTP/1.1 response on a raw socket and closes it (no upgrade happened). */
function writeRaw(socket: Duplex, status: number, headers: ClientHeaders, body: string | Buffer): void {
  if (socket.destroyed) return;
  let head = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Unknown'}\r\n`;
  for (const name in headers) {
    if (name === 'connection' || name === 'content-length' || name === 'transfer-encoding') continue;
    const value = headers[name];
    if (value === undefined) continue;
    for (const item of Array.isArray(value) ? value : [value]) {
      const one = String(item);
      try {
        validateHeaderValue(name, one);
      } catch {
        continue; // never let a filter's CR/LF split the response
      }
      head += `${name}: ${one}\r\n`;
    }
  }
  head += `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n`;
  socket.end(Buffer.concat([Buffer.from(head, 'latin1'), typeof body === 'string' ? Buffer.from(body) : body]));
}

/** The `101 Switching Protocols` head relayed to the client (its token was checked against the request's). */
function switchingHead(headers: IncomingHttpHeaders, token: string): string {
  let head = 'HTTP/1.1 101 Switching Protocols\r\n';
  const clean = responseHeaders(headers);
  for (const name in clean) {
    const value = clean[name] as string | string[];
    for (const one of Array.isArray(value) ? value : [value]) head += `${name}: ${one}\r\n`;
  }
  return `${head}connection: Upgrade\r\nupgrade: ${token}\r\n\r\n`;
}

/**
 * Pipes two streams into each other: bytes flow both ways with backpressure;
 * an end (FIN) is passed on after the pending bytes; an error or abrupt
 * close on either side destroys the other. `onClose` runs once both closed.
 */
function splice(client: Duplex, upstream: Duplex, onClose: () => void): void {
  let closed = 0;
  const closedOne = () => {
    if (++closed === 2) onClose();
  };
  const link = (from: Duplex, to: Duplex) => {
    from.pipe(to);
    from.on('error', () => to.destroy());
    from.on('close', () => {
      if (!from.readableEnded) to.destroy(); // reset, not a clean end: no half-open tunnel
      closedOne();
    });
  };
  link(client, upstream);
  link(upstream, client);
}

/**
 * What both upgrade sides share: the client's stream, the close listener
 * (the exchange is over when the stream closes before a tunnel, or when the
 * tunnel's both ends closed), the status, the splice.
 */
abstract class TunnelSide {
  readonly kind = 'upgrade';
  readonly #stream: Duplex;
  #status = 0;
  #done = false;
  #tunnelled = false;
  #listener: ClientClosed | undefined;

  constructor(stream: Duplex) {
    this.#stream = stream;
    stream.on('error', () => stream.destroy());
    stream.once('close', () => {
      if (!this.#tunnelled) this.#closed(!this.#done);
    });
  }

  abstract readonly openStatus: number;

  get destroyed(): boolean {
    return this.#stream.destroyed;
  }

  get headersSent(): boolean {
    return this.#done;
  }

  onClosed(listener: ClientClosed): void {
    this.#listener = listener;
  }

  closeAfter(): void {} // an upgrade's answer always closes its connection or stream

  destroy(): void {
    this.#stream.destroy();
  }

  /** Records the answer's status; `false` when an answer or a tunnel already went out. */
  protected answered(status: number): boolean {
    if (this.#done || this.#stream.destroyed) return false;
    this.#done = true;
    this.#status = status;
    return true;
  }

  /**
   * Opens the tunnel to `upstream` (the origin's checked `101`): unless an
   * answer already went out (then `upstream` is destroyed), writes the
   * opening to the client ({@link writeOpening}) and splices the two.
   */
  open(
    upstream: Duplex,
    headers: IncomingHttpHeaders,
    token: string,
    idleMs: number | undefined,
    tunnels: Set<Duplex>,
  ): void {
    if (!this.answered(this.openStatus)) {
      upstream.destroy();
      return;
    }
    this.#splice(upstream, this.writeOpening(headers, token), idleMs, tunnels);
  }

  /** Writes the tunnel's opening to the client; returns the bytes the client sent past its handshake, for upstream. */
  protected abstract writeOpening(headers: IncomingHttpHeaders, token: string): Buffer;

  #splice(upstream: Duplex, head: Buffer, idleMs: number | undefined, tunnels: Set<Duplex>): void {
    const stream = this.#stream;
    this.#tunnelled = true;
    tunnels.add(stream);
    if (head.length > 0) upstream.write(head);
    if (idleMs !== undefined && idleMs > 0 && 'setTimeout' in stream) {
      (stream as Duplex & { setTimeout(ms: number, cb: () => void): void }).setTimeout(idleMs, () => stream.destroy());
    }
    splice(stream, upstream, () => {
      tunnels.delete(stream);
      this.#closed(false);
    });
  }

  #closed(aborted: boolean): void {
    const listener = this.#listener;
    this.#listener = undefined;
    listener?.(this.#status, aborted);
  }
}

/** The client side of an HTTP/1.1 upgrade: a raw socket that sent `Upgrade:`. @internal */
export class Http1UpgradeSide extends TunnelSide implements UpgradeSide {
  readonly http1 = true;
  readonly openStatus = 101;
  readonly key: string | undefined;
  readonly #socket: Duplex;
  readonly #head: Buffer;

  constructor(req: IncomingMessage, socket: Duplex, head: Buffer) {
    super(socket);
    this.#socket = socket;
    this.#head = head;
    const key = req.headers['sec-websocket-key'];
    this.key = typeof key === 'string' ? key : undefined;
  }

  verdict(req: IncomingMessage): UpgradeVerdict {
    return checkUpgradeRequest(req.method ?? 'GET', req.headers);
  }

  prepare(): void {} // the client's own handshake headers go through

  answer(status: number, headers: ClientHeaders, body: string | Buffer | undefined): void {
    if (this.answered(status)) writeRaw(this.#socket, status, headers, body ?? '');
  }

  protected writeOpening(headers: IncomingHttpHeaders, token: string): Buffer {
    this.#socket.write(switchingHead(headers, token));
    return this.#head;
  }
}

/** Headers an HTTP/2 response must not carry (RFC 9113 §8.2.2), or that the gateway sets itself. */
const NOT_ON_H2 = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'te',
  'http2-settings',
  'content-length',
  'sec-websocket-accept',
]);

/** Response headers for an HTTP/2 client: no connection-specific ones, no CR/LF. */
function h2Headers(headers: ClientHeaders | IncomingHttpHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined || NOT_ON_H2.has(name) || name.charCodeAt(0) === 58 /* : */) continue;
    const values = (Array.isArray(value) ? value : [value]).map(String);
    try {
      for (const one of values) validateHeaderValue(name, one);
    } catch {
      continue; // never let a filter's CR/LF through
    }
    out[name] = values.length === 1 ? (values[0] as string) : values;
  }
  return out;
}

const NO_HEAD = Buffer.alloc(0);

/**
 * The client side of an HTTP/2 WebSocket (RFC 8441): the origin gets an
 * HTTP/1.1 handshake with a key of the gateway's; its `101` (with the
 * matching `Sec-WebSocket-Accept`) becomes a `200` on the client's stream. @internal
 */
export class Http2ConnectSide extends TunnelSide implements UpgradeSide {
  readonly http1 = false;
  readonly openStatus = 200;
  readonly key = randomBytes(16).toString('base64');
  readonly #res: Http2ServerResponse;

  constructor(req: Http2ServerRequest, res: Http2ServerResponse) {
    super(req.stream);
    this.#res = res;
  }

  verdict(): UpgradeVerdict {
    return { ok: true, token: WEBSOCKET }; // extendedConnect admits `:protocol: websocket` only
  }

  prepare(headers: Record<string, string | string[]>): void {
    headers['sec-websocket-key'] = this.key;
    headers['sec-websocket-version'] ??= '13';
  }

  answer(status: number, headers: ClientHeaders, body: string | Buffer | undefined): void {
    const res = this.#res;
    if (res.headersSent || !this.answered(status)) return;
    const text = body ?? '';
    try {
      res.writeHead(status, { ...h2Headers(headers), 'content-length': Buffer.byteLength(text) });
      res.end(text);
    } catch {
      this.destroy();
    }
  }

  protected writeOpening(headers: IncomingHttpHeaders): Buffer {
    this.#res.writeHead(200, h2Headers(responseHeaders(headers)));
    return NO_HEAD;
  }
}
