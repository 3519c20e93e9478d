import { execFile, spawnSync } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Admin } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { serviceEnv } from '../../../scripts/test-env.js';
import {
  createEventProducer,
  defineEventCatalog,
  ENVELOPE_HEADERS,
  kafkaTransport,
  schemaRegistry,
} from '../src/index.js';
import { connectAdmin, removeTempDirs, tempDir } from './helpers.js';

// A consumer that is not Node: Confluent's Python client (confluent-kafka from PyPI) reads
// registry-mode records with its JSONDeserializer, fetching each schema by id from Apicurio.
const { kafkaBrokers: brokers, registryUrl } = serviceEnv();
const fixtures = fileURLToPath(new URL('./fixtures/', import.meta.url));
const requirements = join(fixtures, 'registry-python-requirements.txt');
const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const servicesDir = process.env.BACKLOT_SERVICES_DIR ?? join(repoRoot, '.services');
const target = join(servicesDir, 'registry', 'python');

const python = spawnSync('python3', ['-m', 'pip', '--version'], { encoding: 'utf8' });
const noPython = python.status !== 0;
const off = process.env.BACKLOT_REGISTRY === 'off';

/** Installs the pinned client into `target` unless the stamp says it is there (swapped in whole). */
function installClient(): void {
  const want = createHash('sha256').update(readFileSync(requirements)).digest('hex');
  const stamp = join(target, '.requirements.sha256');
  if (existsSync(stamp) && readFileSync(stamp, 'utf8').trim() === want) return;
  const tmp = `${target}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  const result = spawnSync(
    'python3',
    [
      '-m',
      'pip',
      'install',
      '--quiet',
      '--disable-pip-version-check',
      '--no-input',
      '--target',
      tmp,
      '-r',
      requirements,
    ],
    { encoding: 'utf8', timeout: 280_000 },
  );
  if (result.status !== 0) {
    throw new Error(`pip install -r ${requirements} failed: ${result.stderr || result.error?.message}`);
  }
  writeFileSync(join(tmp, '.requirements.sha256'), `${want}\n`);
  rmSync(target, { recursive: true, force: true });
  renameSync(tmp, target);
}

const definitions = {
  [`py${randomUUID().slice(0, 8)}.play.started`]: {
    version: 2,
    payload: z.object({ profileId: z.string().min(1), titleId: z.string(), seq: z.number().int() }),
  },
};
const [NAME] = Object.keys(definitions) as [string];
let admin: Admin | undefined;
const topic = `registry-python-${randomUUID()}`;

beforeAll(async () => {
  if (off || noPython) return;
  installClient();
  admin = await connectAdmin(brokers);
  await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
}, 300_000);

afterAll(async () => {
  await admin?.deleteTopics({ topics: [topic] }).catch(() => {});
  await admin?.disconnect();
  removeTempDirs();
});

describe.skipIf(off || noPython)(
  `a Python consumer (confluent-kafka)${noPython ? ': skipped, python3 -m pip is missing' : ''}`,
  () => {
    it('reads registry-mode records with its JSONDeserializer and the schema fetched by id', async () => {
      const producer = createEventProducer({
        catalog: defineEventCatalog(definitions),
        source: 'play-api',
        transport: kafkaTransport({ brokers }),
        topic,
        spool: { dir: tempDir() },
        registry: { client: schemaRegistry({ url: registryUrl }) },
      });
      const sent = Array.from({ length: 20 }, (_, seq) =>
        producer.emitEnvelope(NAME, { profileId: `p${seq % 3}`, titleId: 't1', seq }),
      );
      await producer.close();
      expect(producer.metrics()).toMatchObject({ sent: 20 });

      const { stdout } = await promisify(execFile)(
        'python3',
        [join(fixtures, 'registry_consumer.py'), brokers.join(','), topic, registryUrl, '20'],
        { env: { ...process.env, PYTHONPATH: target }, timeout: 90_000, maxBuffer: 16 * 1024 * 1024 },
      );
      const read = stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as { payload: unknown; headers: Record<string, string> });
      expect(read).toHaveLength(20);
      expect(read.map((r) => r.payload)).toEqual(sent.map((e) => e.payload));
      expect(read.map((r) => r.headers[ENVELOPE_HEADERS.id])).toEqual(sent.map((e) => e.id));
      for (const record of read) {
        expect(record.headers).toMatchObject({
          [ENVELOPE_HEADERS.name]: NAME,
          [ENVELOPE_HEADERS.version]: '2',
          [ENVELOPE_HEADERS.source]: 'play-api',
        });
      }
    }, 120_000);
  },
);
