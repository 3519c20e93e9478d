import { createRemoteJWKSet, importSPKI, type JWTVerifyGetKey, jwtVerify } from 'jose';
import { GatewayError } from '../../errors.js';
import { defineFilter, type Filter } from '../filter.js';

/** Options of {@link jwtFilter}. */
export interface JwtOptions {
  secret?: string | undefined;
  publicKeyPem?: string | undefined;
  jwksUrl?: string | undefined;
  algorithms?: string[] | undefined;
  issuer?: string | undefined;
  audience?: string | undefined;
  optional: boolean;
}

type VerifyKey = Uint8Array | Awaited<ReturnType<typeof importSPKI>>;

const unauthorized = (message: string, cause?: unknown) =>
  new GatewayError('BACKLOT_GATEWAY_UNAUTHORIZED', message, {
    cause,
    headers: { 'www-authenticate': 'Bearer realm="backlot", error="invalid_token"' },
  });

/**
 * Verifies `Authorization: Bearer <JWT>` with `jose` (HMAC secret, a PEM
 * public key, or a JWKS URL), checks issuer/audience/expiry, and sets
 * `ctx.auth.subject` and `ctx.auth.claims`. A missing or bad token is a 401.
 */
export function jwtFilter(options: JwtOptions): Filter {
  const algorithms = options.algorithms ?? (options.secret ? ['HS256'] : undefined);
  let key: Promise<VerifyKey> | JWTVerifyGetKey | undefined;
  if (options.secret) key = Promise.resolve(new TextEncoder().encode(options.secret));
  else if (options.publicKeyPem) {
    key = importSPKI(options.publicKeyPem, algorithms?.[0] ?? 'RS256');
  } else if (options.jwksUrl) key = createRemoteJWKSet(new URL(options.jwksUrl));
  const verifyOptions = {
    ...(algorithms ? { algorithms } : {}),
    ...(options.issuer ? { issuer: options.issuer } : {}),
    ...(options.audience ? { audience: options.audience } : {}),
  };
  return defineFilter({
    name: 'jwt',
    phase: 'inbound',
    order: -800,
    async run(ctx) {
      const header = ctx.req.headers.authorization;
      if (!header || !/^bearer /i.test(header)) {
        if (options.optional) return;
        throw unauthorized('a Bearer token is required');
      }
      const token = header.slice(7).trim();
      try {
        const { payload } =
          typeof key === 'function'
            ? await jwtVerify(token, key, verifyOptions)
            : await jwtVerify(token, await (key as Promise<VerifyKey>), verifyOptions);
        ctx.auth = { ...ctx.auth, subject: payload.sub, claims: payload };
      } catch (error) {
        throw unauthorized(`invalid token: ${(error as Error).message}`, error);
      }
    },
  });
}
