import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Stops and starts the Kafka broker (real mode's chaos control). */
export interface BrokerControl {
  /** Where the broker listens, for the dashboard. */
  readonly brokers: string[];
  /** Whether it was stopped through this control (and seen down) and not started again. */
  readonly stopped: boolean;
  stop(): Promise<void>;
  start(): Promise<void>;
}

/** This control cannot act on the platform's broker: answered 409 with the reason. */
export class BrokerControlError extends Error {
  readonly code = 'broker_not_controlled';
  constructor(message: string) {
    super(message);
    this.name = 'BrokerControlError';
  }
}

const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));
const kafkaScript = join(repoRoot, 'scripts/services/kafka.sh');
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

/** Whether something accepts TCP connections at host:port (within 1 s). */
function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: 1000 });
    const done = (up: boolean) => {
      socket.destroy();
      resolve(up);
    };
    socket.once('connect', () => done(true));
    socket.once('timeout', () => done(false));
    socket.once('error', () => done(false));
  });
}

/**
 * The broker run by the foundation's `scripts/services/kafka.sh`, at the
 * address the platform uses (`brokers[0]`, i.e. `--kafka`): `stop` is
 * `kafka.sh down`, `start` is `kafka.sh up` (which waits until the broker
 * answers). The port comes from that address; `env` may set the state folder
 * (`BACKLOT_SERVICES_DIR`) and `BACKLOT_KAFKA_CONTROLLER_PORT` (tests point
 * them at a private broker; never at the shared one). It refuses, with a
 * {@link BrokerControlError}, to act on a broker that kafka.sh did not start
 * there (another host, or kafka.sh's broker listening elsewhere), and reports
 * "stopped" only once nothing answers at the address any more.
 */
export function kafkaScriptBroker(options: { brokers: string[]; env?: NodeJS.ProcessEnv }): BrokerControl {
  const address = options.brokers[0] ?? '';
  const separator = address.lastIndexOf(':');
  const host = address.slice(0, separator);
  const port = Number(address.slice(separator + 1));
  const env: NodeJS.ProcessEnv = { ...(options.env ?? process.env), BACKLOT_KAFKA_PORT: String(port) };
  const stateDir = join(env.BACKLOT_SERVICES_DIR ?? join(repoRoot, '.services'), 'kafka');
  let stopped = false;

  /** Throws unless kafka.sh's broker (per its state folder) is configured to listen at this address. */
  const assertManaged = async () => {
    if (!LOOPBACK.has(host) || !Number.isInteger(port)) {
      throw new BrokerControlError(`the broker at ${address} is not on this machine: kafka.sh cannot stop or start it`);
    }
    const properties = await readFile(join(stateDir, 'server.properties'), 'utf8').catch(() => '');
    const listener = /^listeners=.*PLAINTEXT:\/\/[^,:]+:(\d+)/m.exec(properties);
    if (!listener) {
      throw new BrokerControlError(
        `no broker started by scripts/services/kafka.sh in ${stateDir}: stop the broker at ${address} where it was started`,
      );
    }
    if (Number(listener[1]) !== port) {
      throw new BrokerControlError(
        `kafka.sh's broker (${stateDir}) listens on port ${listener[1]}, not at ${address}: the platform's broker is not one kafka.sh runs`,
      );
    }
  };

  const run = (action: 'up' | 'down') =>
    new Promise<void>((resolve, reject) => {
      const child = spawn('bash', [kafkaScript, action], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        output += chunk;
      });
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
        output += chunk;
      });
      child.once('error', reject);
      child.once('exit', (code) =>
        code === 0 ? resolve() : reject(new Error(`kafka.sh ${action} exited with ${code}: ${output.trim()}`)),
      );
    });

  return {
    brokers: options.brokers,
    get stopped() {
      return stopped;
    },
    async stop() {
      await assertManaged();
      await run('down');
      if (await accepts(host, port)) {
        throw new BrokerControlError(`kafka.sh down ran, but a broker still answers at ${address}`);
      }
      stopped = true;
    },
    async start() {
      await assertManaged();
      await run('up');
      stopped = false;
    },
  };
}
