import type { GatewayFleet } from '../edge/gateway-fleet.ts';
import type { EdgeSource } from './snapshot.ts';

/**
 * The dashboard's view of `npm start`'s edge: each gateway process's traffic
 * from its own admin listener (`/metrics`, loopback), the load balancer's
 * backends, and killing one instance (SIGKILL, as a crash would).
 */
export function fleetEdge(fleet: GatewayFleet): EdgeSource {
  return {
    kind: 'fleet',
    gateways: () =>
      Promise.all(
        fleet.instances.map(async (instance, i) => {
          const name = `gateway ${i + 1} (pid ${instance.pid})`;
          try {
            const response = await fetch(`http://127.0.0.1:${instance.adminPort}/metrics`, {
              signal: AbortSignal.timeout(500),
            });
            if (!response.ok) return { name, up: false };
            return { name, up: true, metrics: await response.text() };
          } catch {
            return { name, up: false };
          }
        }),
      ),
    backends: () =>
      fleet.backends.map((b) => ({
        port: b.port,
        healthy: b.healthy,
        connections: b.connections,
        accepted: b.accepted,
      })),
    async kill(index) {
      const instance = fleet.instances[index];
      if (!instance) throw new Error(`no gateway ${index}`);
      instance.process.kill('SIGKILL');
    },
  };
}
