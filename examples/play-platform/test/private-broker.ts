import { spawnSync } from 'node:child_process';
import { mkdirSync, symlinkSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../../../', import.meta.url));

/**
 * A Kafka broker of the test's own, run by `scripts/services/kafka.sh` on
 * `port` (its controller on `port + 1`) with its state in a temporary folder:
 * a test may stop it, which it must never do to the shared one on 9092.
 */
export interface PrivateBroker {
  /** `127.0.0.1:<port>`. */
  readonly brokers: string[];
  /** The environment kafka.sh (and a platform's broker control) needs to act on this broker. */
  env(): NodeJS.ProcessEnv;
  up(): void;
  down(): void;
  /** Stops it and removes its folder. */
  remove(): Promise<void>;
}

/** Prepares a private broker's folder (reusing the shared jar cache) and starts it. */
export async function startPrivateBroker(port: number): Promise<PrivateBroker> {
  const dir = await mkdtemp(join(tmpdir(), 'play-broker-'));
  // The shared jar cache instead of downloading the jars again.
  mkdirSync(join(dir, 'kafka'), { recursive: true });
  symlinkSync(join(repo, '.services/kafka/libs'), join(dir, 'kafka/libs'));
  const env = () => ({
    ...process.env,
    BACKLOT_SERVICES_DIR: dir,
    BACKLOT_KAFKA_PORT: String(port),
    BACKLOT_KAFKA_CONTROLLER_PORT: String(port + 1),
  });
  const run = (action: 'up' | 'down') => {
    const result = spawnSync('bash', [join(repo, 'scripts/services/kafka.sh'), action], {
      env: env(),
      encoding: 'utf8',
    });
    if (result.status !== 0) throw new Error(`kafka.sh ${action} failed: ${result.stderr}${result.stdout}`);
  };
  const broker: PrivateBroker = {
    brokers: [`127.0.0.1:${port}`],
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
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  return broker;
}
