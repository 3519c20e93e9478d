/**
 * Vitest global setup: makes sure the real Kafka broker, S3-compatible
 * server and Cassandra node that the integration tests talk to are running, starting the ones that
 * are not, and stopping afterwards only what it started itself.
 *
 * `BACKLOT_SERVICES=external` skips starting anything (the services are managed
 * elsewhere and found through BACKLOT_KAFKA_BROKERS / BACKLOT_S3_ENDPOINT /
 * BACKLOT_CASSANDRA_CONTACT_POINTS).
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const script = fileURLToPath(new URL('./services.sh', import.meta.url));
// Cassandra can be left out with BACKLOT_CASSANDRA=off (its tests are then skipped).
const services = ['kafka', 's3', ...(process.env.BACKLOT_CASSANDRA === 'off' ? [] : ['cassandra'])];

function run(action: 'up' | 'down' | 'status', service: string): number {
  const result = spawnSync('bash', [script, action, service], {
    stdio: action === 'status' ? 'ignore' : 'inherit',
  });
  return result.status ?? 1;
}

export default function setup(): () => void {
  if (process.env.BACKLOT_SERVICES === 'external') return () => {};

  const started: string[] = [];
  for (const service of services) {
    if (run('status', service) === 0) continue;
    if (run('up', service) !== 0) {
      for (const s of started) run('down', s);
      throw new Error(
        `could not start the '${service}' service for the integration tests (see its log above); ` +
          `run 'npm run services -- up ${service}' to investigate, or set BACKLOT_SERVICES=external ` +
          'and point BACKLOT_KAFKA_BROKERS / BACKLOT_S3_ENDPOINT at running services',
      );
    }
    started.push(service);
  }
  return () => {
    for (const service of started.reverse()) run('down', service);
  };
}
