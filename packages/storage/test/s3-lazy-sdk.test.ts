import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const tsHooks = fileURLToPath(new URL('../../../scripts/ts-hooks.mjs', import.meta.url));
const fixture = fileURLToPath(new URL('./fixtures/lazy-sdk.ts', import.meta.url));

describe('the AWS SDK is loaded only when an S3 store is created', () => {
  it('not on import, not for a memory store; on the first createS3Store', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', tsHooks, fixture], { timeout: 30_000 });
    expect(JSON.parse(stdout)).toEqual({ afterImport: false, afterMemory: false, afterS3: true });
  });
});
