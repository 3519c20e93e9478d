import type { OriginServer } from '../server.js';
import type { Balancer } from './balancer.js';

/** Smooth weighted round-robin (nginx's): weights 5:1:1 give a a b a c a a, evenly spread. */
export function weighted(): Balancer {
  return (servers) => {
    let total = 0;
    let best: OriginServer | undefined;
    for (const server of servers) {
      server.currentWeight += server.weight;
      total += server.weight;
      if (!best || server.currentWeight > best.currentWeight) best = server;
    }
    const chosen = best as OriginServer;
    chosen.currentWeight -= total;
    return chosen;
  };
}
