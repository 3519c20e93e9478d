import type { OriginServer } from '../server.js';

/** Picks one of `servers` (never empty). */
export type Balancer = (servers: readonly OriginServer[]) => OriginServer;
