import { GatewayError } from '../../errors.js';
import { defineFilter, type Filter } from '../filter.js';

/**
 * Request body limit: a declared `Content-Length` above `maxBytes` is a 413
 * before any byte is read (and before `100 Continue`); a chunked body is
 * counted as it streams and cut with a 413 when it goes over.
 */
export function bodyLimitFilter(maxBytes: number): Filter {
  return defineFilter({
    name: 'bodyLimit',
    phase: 'inbound',
    order: -600,
    run(ctx) {
      ctx.maxBodyBytes = ctx.maxBodyBytes === undefined ? maxBytes : Math.min(ctx.maxBodyBytes, maxBytes);
      const declared = ctx.req.headers['content-length'];
      if (declared !== undefined && Number(declared) > ctx.maxBodyBytes) {
        throw new GatewayError('BACKLOT_GATEWAY_BODY_TOO_LARGE', `request body over ${ctx.maxBodyBytes} bytes`);
      }
    },
  });
}
