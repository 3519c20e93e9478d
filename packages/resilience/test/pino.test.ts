import { Writable } from 'node:stream';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { CommandRegistry, defineCommand } from '../src/index.js';

const registry = new CommandRegistry();
afterEach(() => registry.clear());

describe('logging with a real pino logger', () => {
  it('writes circuit changes at info and failures at warn, as JSON lines', async () => {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line));
        done();
      },
    });
    const logger = pino({ level: 'info' }, sink);
    const command = defineCommand({
      registry,
      key: 'pino.logged',
      logger,
      circuitBreaker: { requestVolumeThreshold: 1 },
      run: () => Promise.reject(new Error('catalog down')),
      fallback: () => 'stale',
    });
    await command();
    await expect.poll(() => lines.length).toBe(2);
    expect(lines[0]).toMatchObject({ level: 40, msg: 'command failed', command: 'pino.logged', reason: 'failure' });
    expect(lines[0]?.err).toMatchObject({ message: 'catalog down' });
    expect(lines[1]).toMatchObject({ level: 30, msg: 'circuit open', command: 'pino.logged', circuit: 'open' });
  });
});
