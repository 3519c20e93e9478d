import type { OriginServer } from '../server.js';
import type { Balancer } from './balancer.js';

/**
 * Power of two choices on outstanding requests (Envoy's least-request): pick
 * two servers at random and take the one with fewer requests in flight.
 */
export function leastOutstanding(random: () => number = Math.random): Balancer {
  return (servers) => {
    if (servers.length === 1) return servers[0] as OriginServer;
    const a = Math.floor(random() * servers.length);
    let b = Math.floor(random() * (servers.length - 1));
    if (b >= a) b++;
    const first = servers[a] as OriginServer;
    const second = servers[b] as OriginServer;
    return second.outstanding < first.outstanding ? second : first;
  };
}
