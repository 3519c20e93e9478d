import type { IncomingMessage } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import type { Duplex } from 'node:stream';
import { earlyRequestId } from '../exchange/context.js';
import { Exchange } from '../exchange/exchange.js';
import type { GatewayState } from '../exchange/gateway-state.js';
import { Http1UpgradeSide, Http2ConnectSide } from '../exchange/upgrade-sides.js';
import { errorBody } from '../proxy/respond.js';

/** The upgrade listener, and its HTTP/2 counterpart for extended CONNECT streams. @internal */
export interface UpgradeHandler {
  (req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /**
   * Answers an HTTP/2 `CONNECT` (the `connect` event of an HTTP/2 server with
   * `enableConnectProtocol`): `:protocol: websocket` is bridged to the origin
   * as an HTTP/1.1 upgrade; other CONNECTs are refused.
   */
  extendedConnect(req: Http2ServerRequest, res: Http2ServerResponse): void;
}

/**
 * Creates the `upgrade` listener (WebSocket and other `Upgrade:` requests):
 * each is one {@link Exchange}, as a request is — the same limits, in-flight
 * count, drain, routes and filters, retries, access log and spans — whose
 * answer is a tunnel (both sockets spliced once the origin's `101` was
 * checked) or a whole answer on the socket (a filter's, an error, the
 * origin's refusal).
 *
 * Its `extendedConnect` does the same for WebSockets over HTTP/2 (RFC 8441):
 * the stream of a `CONNECT` with `:protocol: websocket` is routed and
 * filtered as a `GET` with `Upgrade: websocket`, the origin gets an HTTP/1.1
 * upgrade, and its `101` becomes a `200` on the stream.
 */
export function createUpgradeHandler(gateway: GatewayState): UpgradeHandler {
  const upgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void =>
    new Exchange({ gateway, req, client: new Http1UpgradeSide(req, socket, head) }).begin();
  const extendedConnect = (req: Http2ServerRequest, res: Http2ServerResponse): void => {
    const client = new Http2ConnectSide(req, res);
    const wanted = req.headers[':protocol'];
    if (wanted !== 'websocket') {
      const requestId = earlyRequestId(req as unknown as IncomingMessage, gateway.runtime);
      const [status, name, message] =
        wanted === undefined
          ? [405, 'method_not_allowed', 'the gateway is not a CONNECT proxy']
          : [501, 'not_implemented', `extended CONNECT for '${String(wanted)}' is not supported (only websocket)`];
      client.answer(
        status,
        { 'content-type': 'application/json', 'x-request-id': requestId },
        errorBody(name, message, requestId),
      );
      return;
    }
    // Routed, filtered and forwarded as the HTTP/1.1 equivalent: GET with Host and Upgrade: websocket.
    const headers = { ...req.headers, upgrade: 'websocket' };
    if (headers.host === undefined && headers[':authority'] !== undefined) headers.host = headers[':authority'];
    const view: IncomingMessage = Object.create(req, {
      method: { value: 'GET', enumerable: true },
      headers: { value: headers, enumerable: true },
    });
    new Exchange({ gateway, req: view, client }).begin();
  };
  return Object.assign(upgrade, { extendedConnect });
}
