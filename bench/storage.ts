/**
 * `npm run bench -- storage`: the S3 adapter (`backlot`) against the raw
 * `@aws-sdk/client-s3` (`aws-sdk`) on the real S3-compatible server, and the
 * filesystem adapter (`backlot-fs`) against npm's `write-file-atomic` (temp
 * file, fsync, rename; read back with `readFile`) in the same folder tree, in
 * alternating rounds.
 *
 * - ops_per_s: 1 KiB objects, mixed put then get, 32 in flight.
 * - upload_mib_s / download_mib_s: one 256 MiB body of unknown length streamed
 *   up (multipart, lib-storage's Upload for both, same part size and queue)
 *   and back down, SHA-256 checked.
 * - peak_rss_mib: peak RSS of a fresh process doing only that transfer
 *   (Node + the SDK loaded, then the transfer); rss_growth_mib: how much of it
 *   the transfer added over the process's RSS just before it started.
 */
import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { createFilesystemStore, createS3Store, type ObjectStore } from '@backlot/storage';
import writeFileAtomic from 'write-file-atomic';
import { type Figures, runBench } from './lib/harness.ts';

const run = promisify(execFile);
const endpoint = process.env.BACKLOT_S3_ENDPOINT ?? 'http://127.0.0.1:9000';
const config = {
  endpoint,
  region: process.env.BACKLOT_S3_REGION ?? 'us-east-1',
  forcePathStyle: true,
  credentials: {
    accessKeyId: process.env.BACKLOT_S3_ACCESS_KEY_ID ?? 'test',
    secretAccessKey: process.env.BACKLOT_S3_SECRET_ACCESS_KEY ?? 'test',
  },
};
const TRANSFER_BYTES = Number(process.env.BENCH_STORAGE_TRANSFER_MIB ?? 256) * 1024 * 1024;
const OPS = Number(process.env.BENCH_STORAGE_OPS ?? 4000);
const CONCURRENCY = 32;
const KEYS = 512;
const body1k = randomBytes(1024);

interface SmallOps {
  put(key: string): Promise<unknown>;
  get(key: string): Promise<unknown>;
}

/** 1 KiB put then get of the same key, `CONCURRENCY` loops in flight; ops (puts + gets) per second. */
async function mixed(ops: SmallOps): Promise<number> {
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      for (let i = next++; i < OPS / 2; i = next++) {
        const key = `small/${i % KEYS}`;
        await ops.put(key);
        await ops.get(key);
      }
    }),
  );
  return OPS / ((performance.now() - start) / 1000);
}

const adapterOps = (store: ObjectStore): SmallOps => ({
  put: (key) => store.put(key, body1k),
  get: (key) => store.get(key),
});

const rawOps = (client: S3Client, bucket: string): SmallOps => ({
  put: (key) => client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body1k })),
  get: async (key) => {
    const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return out.Body?.transformToByteArray();
  },
});

/** npm's `write-file-atomic` (fsync on, its default): the floor of a crash-safe write, without metadata, etags or locks. */
const atomicFileOps = (root: string): SmallOps => ({
  put: (key) => writeFileAtomic(join(root, key), body1k),
  get: (key) => readFile(join(root, key)),
});

/** The 256 MiB transfer in its own process (bench/lib/storage-transfer.ts), for a clean peak RSS. */
async function transfer(subject: 'backlot' | 'aws-sdk', bucket: string): Promise<Figures> {
  const script = fileURLToPath(new URL('./lib/storage-transfer.ts', import.meta.url));
  const { stdout } = await run(process.execPath, [script, subject, bucket, String(TRANSFER_BYTES)], {
    env: process.env,
  });
  return JSON.parse(stdout) as Figures;
}

async function reachable(): Promise<boolean> {
  try {
    await fetch(endpoint, { signal: AbortSignal.timeout(3000) });
    return true;
  } catch {
    return false;
  }
}

async function emptyBucket(client: S3Client, bucket: string): Promise<void> {
  for (;;) {
    const listed = await client.send(new ListObjectsV2Command({ Bucket: bucket }));
    const keys = (listed.Contents ?? []).map((o) => ({ Key: o.Key }));
    if (keys.length === 0) return;
    await client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys, Quiet: true } }));
  }
}

export default async function storageBench(): Promise<void> {
  if (!(await reachable())) {
    console.error(
      `\nstorage bench: the S3-compatible server is not reachable at ${endpoint}.\n` +
        'Start it with `npm run services -- up s3` (or set BACKLOT_S3_ENDPOINT), then run `npm run bench -- storage` again.',
    );
    process.exitCode = 1;
    return;
  }
  const admin = new S3Client(config);
  const buckets = {
    backlot: `bench-backlot-${randomUUID().slice(0, 8)}`,
    raw: `bench-raw-${randomUUID().slice(0, 8)}`,
  };
  for (const bucket of Object.values(buckets)) await admin.send(new CreateBucketCommand({ Bucket: bucket }));
  // One client per subject, configured the same (SDK defaults: checksums when supported, 3 attempts).
  const backlotClient = new S3Client(config);
  const rawClient = new S3Client(config);
  const store = createS3Store({ bucket: buckets.backlot, client: backlotClient });
  const fsRoot = await mkdtemp(join(tmpdir(), 'backlot-bench-fs-'));
  const fsStore = createFilesystemStore({ root: fsRoot });
  const atomicRoot = await mkdtemp(join(tmpdir(), 'backlot-bench-wfa-'));
  await mkdir(join(atomicRoot, 'small'));

  try {
    await runBench({
      name: 'storage',
      unit: {
        ops_per_s: `1 KiB put+get ops/s, ${CONCURRENCY} in flight (higher is better)`,
        upload_mib_s: `${TRANSFER_BYTES / 2 ** 20} MiB streamed upload, unknown length, MiB/s (higher is better)`,
        download_mib_s: `${TRANSFER_BYTES / 2 ** 20} MiB streamed download, MiB/s (higher is better)`,
        peak_rss_mib: 'peak RSS of a process doing only the transfer, MiB (lower is better)',
        rss_growth_mib: 'of which added by the transfer over the loaded process, MiB (lower is better)',
      },
      subjects: {
        backlot: async () => ({
          ops_per_s: await mixed(adapterOps(store)),
          ...(await transfer('backlot', buckets.backlot)),
        }),
        'aws-sdk': async () => ({
          ops_per_s: await mixed(rawOps(rawClient, buckets.raw)),
          ...(await transfer('aws-sdk', buckets.raw)),
        }),
        'backlot-fs': async () => ({ ops_per_s: await mixed(adapterOps(fsStore)) }),
        'write-file-atomic': async () => ({ ops_per_s: await mixed(atomicFileOps(atomicRoot)) }),
      },
      rounds: Number(process.env.BENCH_ROUNDS ?? 5),
      warmup: 1,
    });
  } finally {
    for (const bucket of Object.values(buckets)) {
      await emptyBucket(admin, bucket);
      await admin.send(new DeleteBucketCommand({ Bucket: bucket }));
    }
    await rm(fsRoot, { recursive: true, force: true });
    await rm(atomicRoot, { recursive: true, force: true });
    for (const client of [admin, backlotClient, rawClient]) client.destroy();
  }
}
