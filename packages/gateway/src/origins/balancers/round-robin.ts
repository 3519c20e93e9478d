import type { OriginServer } from '../server.js';
import type { Balancer } from './balancer.js';

/** Round-robin over the servers given. */
export function roundRobin(): Balancer {
  let next = 0;
  return (servers) => {
    const server = servers[next % servers.length] as OriginServer;
    next = (next + 1) % 1_000_000_007;
    return server;
  };
}
