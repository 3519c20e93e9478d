import { defineFilter, type Filter, type GatewayConfigInput } from '@backlot/gateway';
import { JWT_AUDIENCE, JWT_ISSUER, JWT_SECRET } from './demo-users.ts';

/** What the edge needs to know to route the Play platform. */
export interface EdgeOptions {
  /** The Play API (v1) and its canary (v2). */
  playApi: string;
  playApiCanary: string;
  /** Share of `/play` traffic sent to the canary, in percent (default 10). */
  canaryPercent?: number;
  /** Token bucket per profile: burst and sustained requests per second (default 5000 and 2000, above what the load generator reaches, so its figures measure the platform). */
  rateLimit?: { capacity: number; refillPerSecond: number };
  /** Gateway port (default 0: a free one). */
  port?: number;
  /**
   * Redis shared by every gateway of the fleet for the rate limits (real mode):
   * one limit for the fleet instead of one per gateway process. Unset: each
   * gateway keeps its own buckets.
   */
  redisUrl?: string;
  /** Prefix of the bucket keys in that Redis (default `play:ratelimit:`). */
  redisKeyPrefix?: string;
  /**
   * Share (0–1) of the requests the gateway starts a trace for (`--trace-sample`;
   * a caller's sampled trace is followed). Unset or 0: the instance runs
   * without an OpenTelemetry SDK. Its spans go to the parent process.
   */
  traceSample?: number;
}

/** Name of the shared rate-limit store in the gateway config (given by `gateway-instance.ts`). */
export const FLEET_STORE = 'fleet';

/**
 * The gateway config of the Play platform: `/play` to the Play API with a
 * canary split (and `x-canary: on` to pin a request to the canary), JWT auth
 * with the demo key, a rate limit per profile, request ids, and `/health` for
 * the load balancer's checks.
 */
export function edgeConfig(options: EdgeOptions): GatewayConfigInput {
  const canary = options.canaryPercent ?? 10;
  const rateLimit = options.rateLimit ?? { capacity: 5000, refillPerSecond: 2000 };
  // With Redis, the buckets are the fleet's. When Redis fails or is slow (50 ms), each route says what
  // happens: playback keeps working (failOpen: the gateways' other limits still protect the Play API).
  const shared = (onStoreError: 'failOpen' | 'failClosed') =>
    options.redisUrl ? { store: FLEET_STORE, onStoreError, storeTimeoutMs: 50 } : {};
  return {
    // Play and browse bodies are a few hundred bytes: a large one is refused at the edge (413) instead of
    // being streamed to a Play API that refuses it once past its own limit and cuts the upload (a 502 here).
    server: { host: '127.0.0.1', port: options.port ?? 0, maxBodyBytes: 64 * 1024 },
    // Above the Play API's own budget (admission wait ≤ 2.5 s, then its commands' timeouts), so a
    // slow play is answered by the Play API (a fallback, or 503 overloaded), not cut by a 504 here.
    origins: {
      playApi: { servers: [options.playApi], timeoutMs: 5000, healthCheck: { path: '/ready', intervalMs: 2000 } },
      playApiCanary: { servers: [options.playApiCanary], timeoutMs: 5000 },
    },
    filters: [{ type: 'requestId' }],
    routes: [
      {
        id: 'play',
        pathPrefix: '/play',
        splits: [
          { origin: 'playApi', weight: 100 - canary },
          { origin: 'playApiCanary', weight: canary },
        ].filter((split) => split.weight > 0),
        surgical: [{ header: { name: 'x-canary', value: 'on' }, origin: 'playApiCanary' }],
        filters: [
          { type: 'jwt', secret: new TextDecoder().decode(JWT_SECRET), issuer: JWT_ISSUER, audience: JWT_AUDIENCE },
          { type: 'rateLimit', key: 'jwtSubject', ...rateLimit, ...shared('failOpen') },
        ],
      },
      {
        id: 'browse',
        pathPrefix: '/browse',
        origin: 'playApi',
        filters: [
          { type: 'jwt', secret: new TextDecoder().decode(JWT_SECRET), issuer: JWT_ISSUER, audience: JWT_AUDIENCE },
          { type: 'rateLimit', key: 'jwtSubject', ...rateLimit, ...shared('failOpen') },
        ],
      },
      { id: 'health', path: '/health', filters: [{ type: 'static', body: '{"status":"up"}' }] },
    ],
  };
}

/**
 * Passes the verified JWT subject to the Play API as `x-profile-id`, so that
 * a caller can only play as the profile its token names (a client-sent
 * header of that name is replaced).
 */
export const profileFromToken: Filter = defineFilter({
  name: 'profile-from-token',
  phase: 'inbound',
  order: -700, // after the JWT filter (-800)
  run(ctx) {
    delete ctx.upstreamHeaders['x-profile-id'];
    if (ctx.auth?.subject) ctx.upstreamHeaders['x-profile-id'] = ctx.auth.subject;
  },
});
