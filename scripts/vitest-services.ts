/**
 * Vitest global setup: makes sure the real services a project's integration
 * tests talk to (Kafka broker, S3-compatible server, Cassandra node, Redis,
 * Apicurio schema registry;
 * the project names them in `provide.backlotServices`) are running, starting
 * the ones that are not, and stopping afterwards only what it started itself.
 *
 * `BACKLOT_SERVICES=external` skips starting anything (the services are managed
 * elsewhere and found through BACKLOT_KAFKA_BROKERS / BACKLOT_S3_ENDPOINT /
 * BACKLOT_CASSANDRA_CONTACT_POINTS / BACKLOT_REDIS_URL / BACKLOT_REGISTRY_URL).
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';

const script = fileURLToPath(new URL('./services.sh', import.meta.url));
const ALL = ['kafka', 's3', 'cassandra', 'redis', 'registry'];

/** The services `project` asked for, less those turned off (BACKLOT_CASSANDRA=off, BACKLOT_REDIS=off, BACKLOT_REGISTRY=off: their tests skip). */
function wanted(project: TestProject | undefined): string[] {
  const asked = (project?.config.provide as { backlotServices?: string[] } | undefined)?.backlotServices ?? ALL;
  return asked.filter(
    (service) =>
      !(service === 'cassandra' && process.env.BACKLOT_CASSANDRA === 'off') &&
      !(service === 'redis' && process.env.BACKLOT_REDIS === 'off') &&
      !(service === 'registry' && process.env.BACKLOT_REGISTRY === 'off'),
  );
}

function run(action: 'up' | 'down' | 'status', service: string): number {
  const result = spawnSync('bash', [script, action, service], {
    stdio: action === 'status' ? 'ignore' : 'inherit',
  });
  return result.status ?? 1;
}

export default function setup(project?: TestProject): () => void {
  if (process.env.BACKLOT_SERVICES === 'external') return () => {};

  const started: string[] = [];
  for (const service of wanted(project)) {
    if (run('status', service) === 0) continue;
    if (run('up', service) !== 0) {
      for (const s of started) run('down', s);
      throw new Error(
        `could not start the '${service}' service for the integration tests (see its log above); ` +
          `run 'npm run services -- up ${service}' to investigate, or set BACKLOT_SERVICES=external ` +
          'and point BACKLOT_KAFKA_BROKERS / BACKLOT_S3_ENDPOINT / BACKLOT_REDIS_URL at running services',
      );
    }
    started.push(service);
  }
  return () => {
    for (const service of started.reverse()) run('down', service);
  };
}
