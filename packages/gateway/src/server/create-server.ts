import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import {
  createSecureServer,
  type Http2SecureServer,
  type Http2ServerRequest,
  type Http2ServerResponse,
} from 'node:http2';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import type { GatewayConfig } from '../config/schema.js';

/** A listening-capable server of the gateway: HTTP, HTTPS, or HTTPS with HTTP/2 (ALPN). */
export type EdgeServer = Server | HttpsServer | Http2SecureServer;

type Listener = (req: IncomingMessage, res: ServerResponse) => void;
type UpgradeListener = ((req: IncomingMessage, socket: Duplex, head: Buffer) => void) & {
  /** HTTP/2 extended CONNECT (RFC 8441), served when present. */
  extendedConnect?: ((req: Http2ServerRequest, res: Http2ServerResponse) => void) | undefined;
};

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  408: 'Request Timeout',
  431: 'Request Header Fields Too Large',
};

/**
 * Answers a request the HTTP parser refused (malformed, smuggling patterns,
 * oversized headers, too slow) with a request id, like every error. When a
 * response to an earlier request of the same connection is still in flight
 * (a malformed request pipelined behind a valid one), that response is
 * finished first: the client must learn that its first request ran.
 */
export function onClientError(error: Error & { code?: string }, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const status = error.code === 'HPE_HEADER_OVERFLOW' ? 431 : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
  const requestId = randomUUID();
  const body = JSON.stringify({
    error: status === 431 ? 'headers_too_large' : status === 408 ? 'request_timeout' : 'bad_request',
    message: status === 400 ? `malformed request (${error.code ?? 'parse error'})` : (STATUS_TEXT[status] as string),
    requestId,
  });
  const answer = () => {
    if (!socket.writable) {
      socket.destroy();
      return;
    }
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_TEXT[status]}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nx-request-id: ${requestId}\r\nconnection: close\r\n\r\n${body}`,
    );
  };
  afterInFlight(socket, answer);
}

/**
 * Runs `then` once the responses in flight on `socket` are finished
 * (node:http sets the one being written as `_httpMessage`, and assigns the
 * next pipelined one when it finishes), or destroys the socket when one of
 * them is cut short.
 */
function afterInFlight(socket: Duplex, then: () => void): void {
  const inFlight = (socket as Duplex & { _httpMessage?: ServerResponse | null })._httpMessage;
  if (!inFlight || inFlight.writableFinished || inFlight.destroyed) {
    then();
    return;
  }
  inFlight.once('finish', () => afterInFlight(socket, then));
  inFlight.once('close', () => {
    if (!inFlight.writableFinished) socket.destroy();
  });
}

/** Reads the TLS certificate and key named in config. */
export function readTls(tls: { certFile: string; keyFile: string }): { cert: Buffer; key: Buffer } {
  return { cert: readFileSync(tls.certFile), key: readFileSync(tls.keyFile) };
}

/**
 * Creates the edge server for `config.server`: plain HTTP, or TLS-terminating
 * HTTPS, or (with `http2`) an HTTP/2 server that also speaks HTTP/1.1 on the
 * same port (ALPN). Header/request timeouts guard against slowloris, headers
 * are capped at `maxHeaderSize`, and `Expect: 100-continue` is answered by
 * the gateway once the request passed its inbound filters. The HTTP/2 server
 * announces extended CONNECT (RFC 8441) when the upgrade listener has an
 * `extendedConnect`: WebSockets then also open over HTTP/2 streams.
 */
export function createEdgeServer(
  server: GatewayConfig['server'],
  listener: Listener,
  upgrade?: UpgradeListener,
): EdgeServer {
  const options = {
    headersTimeout: server.headersTimeoutMs,
    requestTimeout: server.requestTimeoutMs,
    keepAliveTimeout: server.keepAliveTimeoutMs,
    maxHeaderSize: server.maxHeaderSize,
    requireHostHeader: true,
    connectionsCheckingInterval: Math.min(1000, server.headersTimeoutMs),
  };
  let edge: EdgeServer;
  if (server.tls && server.http2) {
    const extendedConnect = upgrade?.extendedConnect;
    edge = createSecureServer(
      {
        ...readTls(server.tls),
        allowHTTP1: true,
        maxSessionMemory: 10,
        settings: {
          maxHeaderListSize: server.maxHeaderSize,
          ...(extendedConnect ? { enableConnectProtocol: true } : {}),
        },
      },
      listener as never,
    );
    if (extendedConnect) {
      // HTTP/2 CONNECT streams; the HTTP/1.1 side of the port emits `connect` too (a proxy CONNECT): refused.
      edge.on('connect', (req: Http2ServerRequest | IncomingMessage, res: Http2ServerResponse | Duplex) => {
        if (req.httpVersionMajor >= 2) extendedConnect(req as Http2ServerRequest, res as Http2ServerResponse);
        else (res as Duplex).destroy();
      });
    }
  } else if (server.tls) {
    edge = createHttpsServer({ ...options, ...readTls(server.tls) }, listener);
  } else {
    edge = createHttpServer(options, listener);
  }
  edge.on('checkContinue', listener);
  if (upgrade) edge.on('upgrade', upgrade);
  edge.on('clientError', onClientError);
  return edge;
}
