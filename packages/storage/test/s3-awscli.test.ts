import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3Store, type S3Store } from '../src/index.js';
import { drain, generatedBody, hashing } from '../src/testing/index.js';
import { client, dropBucket, freshBucket, s3 } from './s3-env.js';

// Cross-check with a client that is not ours: the AWS CLI (Debian `awscli`, installed by .ci/run)
// reads what the adapter wrote, and the adapter reads what the CLI wrote.
const run = promisify(execFile);
let dir: string;
let store: S3Store;

async function aws(...args: string[]): Promise<string> {
  try {
    const { stdout } = await run('aws', ['--endpoint-url', s3.endpoint, '--output', 'json', 's3api', ...args], {
      env: {
        ...process.env,
        AWS_ACCESS_KEY_ID: s3.accessKeyId,
        AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
        AWS_DEFAULT_REGION: s3.region,
        AWS_CONFIG_FILE: join(dir, 'config'),
        AWS_SHARED_CREDENTIALS_FILE: join(dir, 'credentials'),
        AWS_PAGER: '',
      },
      maxBuffer: 16 * 1024 * 1024,
    });
    return stdout;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new Error("the AWS CLI ('aws') is not on the PATH: install Debian's awscli (bash .ci/run does)");
    }
    throw error;
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'backlot-awscli-'));
  // The test server answers path-style only.
  await writeFile(join(dir, 'config'), '[default]\ns3 =\n  addressing_style = path\n');
  await writeFile(join(dir, 'credentials'), '');
  store = createS3Store({ bucket: await freshBucket(), client, partSize: 5 * 1024 * 1024 });
});

afterAll(async () => {
  await dropBucket(store);
  await rm(dir, { recursive: true, force: true });
  client.destroy();
});

describe('s3 store ⇄ AWS CLI', () => {
  it('the CLI reads what the adapter wrote: body, content type, metadata, listing', async () => {
    const key = 'cross/ä b+c.json';
    const written = await store.put(key, '{"from":"backlot"}', {
      contentType: 'application/json',
      metadata: { origin: 'adapter' },
    });
    const out = join(dir, 'out.json');
    const head = JSON.parse(await aws('get-object', '--bucket', store.bucket, '--key', key, out)) as {
      ContentType: string;
      Metadata: Record<string, string>;
      ETag: string;
    };
    expect(await readFile(out, 'utf8')).toBe('{"from":"backlot"}');
    expect(head).toMatchObject({
      ContentType: 'application/json',
      Metadata: { origin: 'adapter' },
      ETag: written.etag,
    });

    const listed = JSON.parse(await aws('list-objects-v2', '--bucket', store.bucket, '--prefix', 'cross/')) as {
      Contents: { Key: string }[];
    };
    expect(listed.Contents.map((o) => o.Key)).toEqual([key]);
  });

  it('the CLI reads a multipart object the adapter streamed', async () => {
    const written = hashing();
    await store.put('cross/multipart.bin', written.tap(generatedBody(12 * 1024 * 1024)));
    const out = join(dir, 'multipart.bin');
    await aws('get-object', '--bucket', store.bucket, '--key', 'cross/multipart.bin', out);
    expect(
      createHash('sha256')
        .update(await readFile(out))
        .digest('hex'),
    ).toBe(written.digest());
  });

  it('the adapter reads what the CLI wrote, and the CLI sees the adapter delete it', async () => {
    const file = join(dir, 'in.txt');
    await writeFile(file, 'written by the aws cli\n');
    await aws(
      'put-object',
      '--bucket',
      store.bucket,
      '--key',
      'cross/from-cli.txt',
      '--body',
      file,
      '--content-type',
      'text/plain',
      '--metadata',
      'origin=cli',
    );
    const read = await store.getStream('cross/from-cli.txt');
    expect(read).toMatchObject({ contentType: 'text/plain', metadata: { origin: 'cli' }, size: 23 });
    expect((await drain(read.body)).bytes).toBe(23);
    expect((await store.get('cross/from-cli.txt', { range: { offset: 8, length: 3 } })).body.toString()).toBe('by ');

    await store.delete('cross/from-cli.txt');
    await expect(aws('head-object', '--bucket', store.bucket, '--key', 'cross/from-cli.txt')).rejects.toThrow(
      /404|Not Found/,
    );
  });

  it('the CLI reads Cache-Control, Content-Disposition and Content-Encoding the adapter wrote, on single and multipart puts', async () => {
    const headers = {
      cacheControl: 'public, max-age=31536000, immutable',
      contentDisposition: 'attachment; filename="trailer.mp4"',
      contentEncoding: 'identity',
    };
    await store.put('cross/cached.mp4', 'small', { contentType: 'video/mp4', ...headers });
    await store.put('cross/cached-large.mp4', generatedBody(6 * 1024 * 1024), { contentType: 'video/mp4', ...headers });
    for (const key of ['cross/cached.mp4', 'cross/cached-large.mp4']) {
      const head = JSON.parse(await aws('head-object', '--bucket', store.bucket, '--key', key)) as Record<
        string,
        string
      >;
      expect(head).toMatchObject({
        ContentType: 'video/mp4',
        CacheControl: headers.cacheControl,
        ContentDisposition: headers.contentDisposition,
        ContentEncoding: 'identity',
      });
    }
  });

  it('a copy with a new content type keeps the Cache-Control another client set', async () => {
    const file = join(dir, 'poster.bin');
    await writeFile(file, 'poster bytes');
    await aws(
      'put-object',
      '--bucket',
      store.bucket,
      '--key',
      'cross/poster',
      '--body',
      file,
      '--cache-control',
      'max-age=600',
      '--metadata',
      'origin=cli',
    );
    expect(await store.head('cross/poster')).toMatchObject({
      cacheControl: 'max-age=600',
      metadata: { origin: 'cli' },
    });
    await store.copy('cross/poster', 'cross/poster.jpg', { contentType: 'image/jpeg' });
    const head = JSON.parse(await aws('head-object', '--bucket', store.bucket, '--key', 'cross/poster.jpg')) as {
      ContentType: string;
      CacheControl?: string;
      Metadata: Record<string, string>;
    };
    expect(head).toMatchObject({ ContentType: 'image/jpeg', CacheControl: 'max-age=600', Metadata: { origin: 'cli' } });
  });
});
