import { spawnSync } from 'node:child_process';
import { mkdirSync, symlinkSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startOnFreePorts } from './test-ports.ts';

const repo = fileURLToPath(new URL('../', import.meta.url));
const kafkaScript = join(repo, 'scripts/services/kafka.sh');

/**
 * A Kafka broker of the test's own, run by `scripts/services/kafka.sh` on free
 * ports (its client listener and its controller) with its state in a
 * temporary folder: a test may stop it, which it must never do to the shared
 * one on 9092.
 */
export interface PrivateKafka {
  /** `127.0.0.1:<port>`. */
  readonly brokers: string[];
  /** Its client port. */
  readonly port: number;
  /** The environment kafka.sh (and a platform's broker control) needs to act on this broker. */
  env(): NodeJS.ProcessEnv;
  /** Starts it (again), on the same ports and data. */
  up(): void;
  /** Stops it (SIGTERM, then SIGKILL after kafka.sh's stop timeout). */
  down(): void;
  /** Stops it and removes its folder. */
  remove(): Promise<void>;
}

function kafkaSh(action: 'up' | 'down' | 'status', env: NodeJS.ProcessEnv) {
  return spawnSync('bash', [kafkaScript, action], { env, encoding: 'utf8' });
}

/** Starts one private broker on the given ports, in a new folder (reusing the shared jar cache). */
async function startOn(port: number, controllerPort: number): Promise<PrivateKafka> {
  const dir = await mkdtemp(join(tmpdir(), 'backlot-kafka-'));
  // The shared jar cache instead of downloading the jars again.
  mkdirSync(join(dir, 'kafka'), { recursive: true });
  symlinkSync(join(repo, '.services/kafka/libs'), join(dir, 'kafka/libs'));
  const env = (): NodeJS.ProcessEnv => ({
    ...process.env,
    BACKLOT_SERVICES_DIR: dir,
    BACKLOT_KAFKA_PORT: String(port),
    BACKLOT_KAFKA_CONTROLLER_PORT: String(controllerPort),
  });
  const run = (action: 'up' | 'down') => {
    const result = kafkaSh(action, env());
    if (result.status !== 0) throw new Error(`kafka.sh ${action} failed: ${result.stderr}${result.stdout}`);
    // kafka.sh uses a foreign broker that already answers on the port: never this test's to stop.
    if (action === 'up' && kafkaSh('status', env()).status !== 0) {
      throw new Error(`kafka.sh up on ${port}: a broker not started by this script already answers there`);
    }
  };
  const broker: PrivateKafka = {
    brokers: [`127.0.0.1:${port}`],
    port,
    env,
    up: () => run('up'),
    down: () => run('down'),
    async remove() {
      run('down');
      await rm(dir, { recursive: true, force: true });
    },
  };
  try {
    broker.up();
  } catch (error) {
    kafkaSh('down', env());
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  return broker;
}

/**
 * Starts a private broker on two free ports (client and controller), on new
 * ports again when the start finds one taken meanwhile.
 */
export function startPrivateKafka(): Promise<PrivateKafka> {
  return startOnFreePorts(2, ([port = 0, controllerPort = 0]) => startOn(port, controllerPort));
}
