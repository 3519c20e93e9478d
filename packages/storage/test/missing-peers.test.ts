import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { isMissingPeerError, MissingPeerError, StorageError } from '../src/index.js';

const tsHooks = fileURLToPath(new URL('../../../scripts/ts-hooks.mjs', import.meta.url));
const hidePeers = fileURLToPath(new URL('./fixtures/hide-peers.mjs', import.meta.url));
const fixture = fileURLToPath(new URL('./fixtures/missing-peers.ts', import.meta.url));

/** Runs the fixture in a fresh process whose install lacks `hidden` (Node cannot resolve them). */
async function withoutPeers(hidden: string[]): Promise<Record<string, Record<string, unknown>>> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--import', tsHooks, '--import', hidePeers, fixture],
    {
      timeout: 30_000,
      env: { ...process.env, BACKLOT_HIDE_PEERS: hidden.join(',') },
    },
  );
  return JSON.parse(stdout);
}

const missing = (packages: string[], feature: RegExp) => ({
  ok: false,
  name: 'MissingPeerError',
  code: 'BACKLOT_STORAGE_MISSING_PEER',
  packages,
  message: expect.stringMatching(feature),
  cause: expect.stringMatching(/^(ERR_)?MODULE_NOT_FOUND$/),
});

describe('optional peer dependencies that are not installed', () => {
  it('the S3 store, the Cassandra store and the global prom-client registry each say what to install; the memory store works', async () => {
    const report = await withoutPeers(['@aws-sdk/*', 'cassandra-driver', 'prom-client']);
    expect(report.memory).toEqual({ ok: true });
    const s3 = missing(
      ['@aws-sdk/client-s3', '@aws-sdk/lib-storage'],
      /^the S3 store needs .*`npm install @aws-sdk\/client-s3 @aws-sdk\/lib-storage`$/,
    );
    expect(report.s3).toEqual(s3);
    expect(report.s3Config).toEqual(s3);
    expect(report.cassandra).toEqual(
      missing(['cassandra-driver'], /^createCassandraStore needs .*`npm install cassandra-driver`$/),
    );
    expect(report.prometheus).toEqual(missing(['prom-client'], /`npm install prom-client`/));
  });

  it('the S3 store without lib-storage names both packages; without the presigner only presign() fails, naming it', async () => {
    const withoutLibStorage = await withoutPeers(['@aws-sdk/lib-storage']);
    expect(withoutLibStorage.s3).toEqual(
      missing(['@aws-sdk/client-s3', '@aws-sdk/lib-storage'], /npm install @aws-sdk\/client-s3 @aws-sdk\/lib-storage/),
    );
    const withoutPresigner = await withoutPeers(['@aws-sdk/s3-request-presigner']);
    expect(withoutPresigner.s3).toEqual({ ok: true });
    expect(withoutPresigner.presign).toEqual(
      missing(
        ['@aws-sdk/s3-request-presigner'],
        /^S3 presigned URLs \(presign\(\)\) needs .*`npm install @aws-sdk\/s3-request-presigner`$/,
      ),
    );
    expect(withoutPresigner.cassandra).not.toMatchObject({ code: 'BACKLOT_STORAGE_MISSING_PEER' });
  });

  it('is a coded StorageError, recognised by its code from any copy of the package', () => {
    const error = new MissingPeerError('the S3 store', ['@aws-sdk/client-s3']);
    expect(error).toBeInstanceOf(StorageError);
    expect(error.retryable).toBe(false);
    expect(isMissingPeerError(error)).toBe(true);
    expect(isMissingPeerError({ code: 'BACKLOT_STORAGE_MISSING_PEER', [Symbol.for('backlot.error')]: true })).toBe(
      true,
    );
    expect(isMissingPeerError(new StorageError('BACKLOT_STORAGE_UNSUPPORTED', 'no'))).toBe(false);
  });
});
