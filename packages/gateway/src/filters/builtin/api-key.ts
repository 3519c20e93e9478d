import { createHash } from 'node:crypto';
import { GatewayError } from '../../errors.js';
import { defineFilter, type Filter } from '../filter.js';

const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');

/**
 * API keys: the request must carry one of `keys` in `header`. Keys are kept
 * as SHA-256 hashes and compared by hash (no early-exit string compare on
 * the secret); the header is removed before the request goes upstream and
 * `ctx.auth.apiKeyId` is set to a hash prefix.
 */
export function apiKeyFilter(header: string, keys: readonly string[]): Filter {
  const name = header.toLowerCase();
  const hashes = new Set(keys.map(sha256));
  return defineFilter({
    name: 'apiKey',
    phase: 'inbound',
    order: -800,
    run(ctx) {
      const value = ctx.req.headers[name];
      if (typeof value !== 'string' || value === '') {
        throw new GatewayError('BACKLOT_GATEWAY_UNAUTHORIZED', `an API key is required in ${name}`);
      }
      const hash = sha256(value);
      if (!hashes.has(hash)) throw new GatewayError('BACKLOT_GATEWAY_FORBIDDEN', 'unknown API key');
      ctx.auth = { ...ctx.auth, apiKeyId: hash.slice(0, 12) };
      delete ctx.upstreamHeaders[name];
    },
  });
}
