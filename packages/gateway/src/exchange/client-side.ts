import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { UpgradeVerdict } from '../security/upgrade-policy.js';

/** Response headers as the gateway writes them. @internal */
export type ClientHeaders = Record<string, string | string[] | number>;

/** Called once when the client's side of an exchange is over: the status it got, and whether it was cut short. */
export type ClientClosed = (status: number, aborted: boolean) => void;

/**
 * Where an exchange's answer goes: the one interface every entrance gives
 * the {@link Exchange}, which is the only code that writes to it. @internal
 */
interface ClientSideBase {
  /** Whether the client speaks HTTP/1.x (only there does `Connection` mean anything). */
  readonly http1: boolean;
  /** Whether the client went away (nothing can be written any more). */
  readonly destroyed: boolean;
  /** Whether a response head (or a tunnel's) went out. */
  readonly headersSent: boolean;
  /** Registers the listener called once when the client's side is over. */
  onClosed(listener: ClientClosed): void;
  /** Asks for the client's connection to close after this answer (HTTP/1.x; upgrades always close). */
  closeAfter(): void;
  /** Writes a whole answer (head and body, its length set here). */
  answer(status: number, headers: ClientHeaders, body: string | Buffer | undefined): void;
  /** Cuts the client's connection or stream. */
  destroy(error?: Error): void;
}

/** A client waiting for an HTTP response, which may be streamed. @internal */
export interface ResponseSide extends ClientSideBase {
  readonly kind: 'response';
  /** Answers `Expect: 100-continue`. */
  writeContinue(): void;
  /** Writes the head of a streamed response. */
  writeHead(status: number, headers: ClientHeaders): void;
  /** Writes a chunk; on backpressure calls `onDrain` once the client can take more, and returns `false`. */
  write(chunk: Buffer, onDrain: () => void): boolean;
  /** Ends a streamed response. */
  end(): void;
}

/** A client asking for a tunnel: an HTTP/1.1 `Upgrade:` or an HTTP/2 extended CONNECT. @internal */
export interface UpgradeSide extends ClientSideBase {
  readonly kind: 'upgrade';
  /** The `Sec-WebSocket-Key` the origin gets (the client's on HTTP/1.1, the gateway's on HTTP/2). */
  readonly key: string | undefined;
  /** The status an open tunnel is recorded with (`101`, or `200` on HTTP/2). */
  readonly openStatus: number;
  /** Checks the upgrade request itself (token, WebSocket handshake headers) before routing. */
  verdict(req: IncomingMessage): UpgradeVerdict;
  /** Adds what the origin's HTTP/1.1 handshake needs to the upstream headers. */
  prepare(headers: Record<string, string | string[]>): void;
  /**
   * Confirms the tunnel with the origin's (checked) head and splices the
   * client to `upstream`; `tunnels` holds the client's stream while it is open.
   */
  open(
    upstream: Duplex,
    headers: IncomingHttpHeaders,
    token: string,
    idleMs: number | undefined,
    tunnels: Set<Duplex>,
  ): void;
}

/** The client side of an exchange. @internal */
export type ClientSide = ResponseSide | UpgradeSide;

/** A node:http (or HTTP/2 compatibility) response. @internal */
export class HttpResponseSide implements ResponseSide {
  readonly kind = 'response';
  readonly http1: boolean;
  readonly #res: ServerResponse;

  constructor(req: IncomingMessage, res: ServerResponse) {
    this.#res = res;
    this.http1 = req.httpVersionMajor < 2;
  }

  get destroyed(): boolean {
    return this.#res.destroyed;
  }

  get headersSent(): boolean {
    return this.#res.headersSent;
  }

  onClosed(listener: ClientClosed): void {
    const res = this.#res;
    res.on('close', () => listener(res.statusCode, !res.writableFinished)); // emitted once; `on` spares `once`'s wrapper
  }

  closeAfter(): void {
    if (this.http1 && !this.#res.headersSent) this.#res.setHeader('connection', 'close');
  }

  answer(status: number, headers: ClientHeaders, body: string | Buffer | undefined): void {
    const res = this.#res;
    if (res.destroyed || res.writableEnded) return;
    if (res.headersSent) {
      res.destroy();
      return;
    }
    headers['content-length'] = body === undefined ? 0 : Buffer.byteLength(body);
    delete headers['transfer-encoding'];
    if (!this.http1) delete headers.connection;
    res.writeHead(status, headers);
    res.end(body);
  }

  writeContinue(): void {
    this.#res.writeContinue();
  }

  writeHead(status: number, headers: ClientHeaders): void {
    this.#res.writeHead(status, headers);
  }

  write(chunk: Buffer, onDrain: () => void): boolean {
    const res = this.#res;
    if (res.write(chunk)) return true;
    res.once('drain', onDrain);
    return false;
  }

  end(): void {
    if (!this.#res.destroyed) this.#res.end();
  }

  destroy(error?: Error): void {
    this.#res.destroy(error);
  }
}
