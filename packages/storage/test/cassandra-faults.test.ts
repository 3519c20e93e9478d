import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from 'cassandra-driver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { startOnFreePorts } from '../../../scripts/test-ports.js';
import { type BackendError, createCassandraStore, isBackendError } from '../src/index.js';
import { cassandraOff } from './cassandra-env.js';

// A private Cassandra node (its own free ports, its own state dir) that this file stops mid-write.
const repo = fileURLToPath(new URL('../../../', import.meta.url));
const script = join(repo, 'scripts/services/cassandra.sh');
const servicesDir = mkdtempSync(join(tmpdir(), 'backlot-cassandra-faults-'));
/** Its CQL port, picked free when the suite starts. */
let PORT = 0;
let env: NodeJS.ProcessEnv = process.env;

function node(action: 'up' | 'down'): void {
  const result = spawnSync('bash', [script, action], { env, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`cassandra.sh ${action} failed:\n${result.stdout}\n${result.stderr}`);
  // cassandra.sh uses a node that already answers on the port: never this test's to stop.
  if (action === 'up' && spawnSync('bash', [script, 'status'], { env }).status !== 0) {
    throw new Error(`cassandra.sh up on ${PORT}: a node not started by this script already answers there`);
  }
}

describe.skipIf(cassandraOff)('cassandra store: the node stopped mid-write', () => {
  beforeAll(async () => {
    // Reuse the jars of the shared node when they are there (else the script resolves them with mvn).
    const libs = join(process.env.BACKLOT_SERVICES_DIR ?? join(repo, '.services'), 'cassandra/libs');
    mkdirSync(join(servicesDir, 'cassandra'), { recursive: true });
    if (existsSync(join(libs, '.pom.sha256'))) symlinkSync(libs, join(servicesDir, 'cassandra/libs'));
    await startOnFreePorts(2, async ([port = 0, storagePort = 0]) => {
      PORT = port;
      env = {
        ...process.env,
        BACKLOT_SERVICES_DIR: servicesDir,
        BACKLOT_CASSANDRA_PORT: String(port),
        BACKLOT_CASSANDRA_STORAGE_PORT: String(storagePort),
      };
      node('up');
    });
  }, 300_000);

  afterAll(() => {
    spawnSync('bash', [script, 'down'], { env });
    rmSync(servicesDir, { recursive: true, force: true });
  });

  it('every write is acknowledged or fails with a coded retryable error; nothing acknowledged is lost', {
    timeout: 300_000,
  }, async () => {
    const store = await createCassandraStore({
      contactPoints: [`127.0.0.1:${PORT}`],
      keyspace: 'backlot_faults',
      timeoutMs: 2000,
      connectTimeoutMs: 2000,
    });
    await store.ensureSchema();
    const records = store.namespace('records', z.object({ n: z.number() }));
    const acknowledged: string[] = [];
    const failures: unknown[] = [];
    let stopping: Promise<void> | undefined;
    for (let n = 0; n < 400; n++) {
      if (n === 100) {
        // Stop the node (SIGTERM, as an operator or an orchestrator would) while writes go on.
        stopping = new Promise<void>((resolve) =>
          spawn('bash', [script, 'down'], { env, stdio: 'ignore' }).on('exit', () => resolve()),
        );
      }
      try {
        await records.put(`r-${n}`, { n });
        acknowledged.push(`r-${n}`);
      } catch (error) {
        failures.push(error);
      }
      if (n > 100 && failures.length >= 20) break;
    }
    await stopping;
    await store.close();

    expect(acknowledged.length).toBeGreaterThanOrEqual(100);
    expect(failures.length).toBeGreaterThan(0);
    for (const error of failures) {
      expect(isBackendError(error)).toBe(true);
      expect((error as BackendError).retryable).toBe(true);
      expect(['no-host-available', 'deadline', 'unavailable', 'write-timeout']).toContain(
        (error as BackendError).status,
      );
    }

    // Restarted on the same data: every acknowledged write is there, counted with the raw driver.
    node('up');
    const raw = new Client({
      contactPoints: [`127.0.0.1:${PORT}`],
      localDataCenter: 'datacenter1',
      socketOptions: { readTimeout: 20_000 },
    });
    try {
      const result = await raw.execute('SELECT id FROM backlot_faults.kv', [], { fetchSize: 10_000 });
      const stored = new Set(result.rows.map((row) => row.id as string));
      const lost = acknowledged.filter((id) => !stored.has(id));
      expect(lost).toEqual([]);
    } finally {
      await raw.shutdown();
    }
  });
});
