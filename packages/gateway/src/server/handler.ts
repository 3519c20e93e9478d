import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpResponseSide } from '../exchange/client-side.js';
import { Exchange } from '../exchange/exchange.js';
import type { GatewayState } from '../exchange/gateway-state.js';

/**
 * The request listener: each request is one {@link Exchange} answering on
 * its response.
 */
export function createHandler(gateway: GatewayState): (req: IncomingMessage, res: ServerResponse) => void {
  return function handle(req: IncomingMessage, res: ServerResponse): void {
    new Exchange({ gateway, req, client: new HttpResponseSide(req, res) }).begin();
  };
}
