import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { main } from '../src/cli/run.js';
import { onCleanup } from './helpers.js';

describe('backlot-gateway CLI', () => {
  it('validates a config file with --check, naming the bad field', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'backlot-cli-'));
    onCleanup(async () => rmSync(dir, { recursive: true, force: true }));
    const good = join(dir, 'good.json');
    const bad = join(dir, 'bad.json');
    writeFileSync(good, JSON.stringify({ routes: [{ id: 'a', pathPrefix: '/', origin: 'http://127.0.0.1:8081' }] }));
    writeFileSync(bad, JSON.stringify({ routes: [{ id: 'a', pathPrefix: '/', origin: 'missing' }] }));
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    const error = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      expect(await main(['--config', good, '--check'])).toBe(0);
      expect(await main(['-c', bad, '--check'])).toBe(1);
      expect(String(error.mock.calls.at(-1)?.[0])).toMatch(/routes\[0\]\.origin: unknown origin 'missing'/);
      expect(await main([])).toBe(64);
    } finally {
      log.mockRestore();
      error.mockRestore();
    }
  });
});
