import type { Balancer } from './balancer.js';
import { leastOutstanding } from './least-outstanding.js';
import { roundRobin } from './round-robin.js';
import { weighted } from './weighted.js';

export type { Balancer } from './balancer.js';
export { leastOutstanding, roundRobin, weighted };

/** The balancer for a config name. */
export function createBalancer(kind: 'round-robin' | 'weighted' | 'least-outstanding'): Balancer {
  return kind === 'weighted' ? weighted() : kind === 'least-outstanding' ? leastOutstanding() : roundRobin();
}
