import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { EdgeOptions } from './gateway-config.ts';
import { createLoadBalancer } from './load-balancer.ts';

/** A gateway process behind the load balancer. */
export interface GatewayInstance {
  pid: number;
  port: number;
  /** Its admin listener on 127.0.0.1 (`/metrics`, `/routes`, `/hystrix.stream`). */
  adminPort: number;
  process: ChildProcess;
}

/** The edge of `npm start`: gateway processes behind the L4 load balancer. */
export interface GatewayFleet {
  /** The load balancer's URL: what clients call. */
  url: string;
  instances: GatewayInstance[];
  /** Backends as the load balancer sees them (health, open connections). */
  backends: ReturnType<typeof createLoadBalancer>['backends'];
  close(): Promise<void>;
}

const instanceScript = fileURLToPath(new URL('./gateway-instance.ts', import.meta.url));

function startInstance(options: EdgeOptions): Promise<GatewayInstance> {
  return new Promise((resolve, reject) => {
    const child = fork(instanceScript, [], {
      env: { ...process.env, PLAY_EDGE_OPTIONS: JSON.stringify(options) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const onExit = (code: number | null) => reject(new Error(`gateway instance exited with ${code} before listening`));
    child.once('exit', onExit);
    child.once('message', (message: { type: string; port: number; adminPort: number }) => {
      child.off('exit', onExit);
      if (message.type === 'ready') {
        resolve({ pid: child.pid as number, port: message.port, adminPort: message.adminPort, process: child });
      }
    });
  });
}

/** Starts `count` gateway processes and the load balancer in front of them on `port`. */
export async function startGatewayFleet(options: EdgeOptions & { count: number; port: number }): Promise<GatewayFleet> {
  const { count, port, ...edge } = options;
  const instances = await Promise.all(Array.from({ length: count }, () => startInstance(edge)));
  const balancer = createLoadBalancer({
    backends: instances.map((instance) => ({ host: '127.0.0.1', port: instance.port, healthPath: '/health' })),
  });
  const address = await balancer.listen(port);
  return {
    url: `http://127.0.0.1:${address.port}`,
    instances,
    backends: balancer.backends,
    async close() {
      await balancer.close();
      await Promise.all(
        instances.map(
          (instance) =>
            new Promise<void>((resolve) => {
              if (instance.process.exitCode !== null || instance.process.signalCode !== null) return resolve();
              instance.process.once('exit', () => resolve());
              instance.process.kill('SIGTERM');
            }),
        ),
      );
    },
  };
}
