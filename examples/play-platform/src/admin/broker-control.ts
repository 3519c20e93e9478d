import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** Stops and starts the Kafka broker (real mode's chaos control). */
export interface BrokerControl {
  /** Where the broker listens, for the dashboard. */
  readonly brokers: string[];
  /** Whether it was stopped through this control and not started again. */
  readonly stopped: boolean;
  stop(): Promise<void>;
  start(): Promise<void>;
}

const kafkaScript = fileURLToPath(new URL('../../../../scripts/services/kafka.sh', import.meta.url));

/**
 * The broker run by the foundation's `scripts/services/kafka.sh`: `stop` is
 * `kafka.sh down`, `start` is `kafka.sh up` (which waits until the broker
 * answers). `env` picks the broker: `BACKLOT_SERVICES_DIR`,
 * `BACKLOT_KAFKA_PORT`, `BACKLOT_KAFKA_CONTROLLER_PORT` (tests point it at a
 * private broker; never at the shared one).
 */
export function kafkaScriptBroker(options: { brokers: string[]; env?: NodeJS.ProcessEnv }): BrokerControl {
  let stopped = false;
  const run = (action: 'up' | 'down') =>
    new Promise<void>((resolve, reject) => {
      const child = spawn('bash', [kafkaScript, action], {
        env: options.env ?? process.env,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
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
      await run('down');
      stopped = true;
    },
    async start() {
      await run('up');
      stopped = false;
    },
  };
}
