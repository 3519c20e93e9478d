import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFilesystemStore, createKeyValueStore, createMemoryStore, type KeyValueStore } from '@backlot/storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStreamLeases } from '../src/services/license/stream-leases.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'stream-leases-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const stores: [string, () => KeyValueStore][] = [
  [
    'filesystem (fsync, what npm start runs)',
    () => createKeyValueStore({ store: createFilesystemStore({ root: dir }) }),
  ],
  ['memory', () => createKeyValueStore({ store: createMemoryStore() })],
];

describe.each(stores)('stream leases on the %s store', (_, open) => {
  it('grants exactly the plan limit to devices racing for the slots', async () => {
    const leases = createStreamLeases(open(), { maxAttempts: 20 });
    const devices = Array.from({ length: 12 }, (_, i) => `device-${i}`);
    const results = await Promise.all(
      devices.map((device) => leases.acquire({ profileId: 'p-race', titleId: 't', device, limit: 4 })),
    );
    const granted = results.filter((r) => r.granted);
    expect(granted).toHaveLength(4);
    expect(results.filter((r) => !r.granted && r.reason === 'stream_limit')).toHaveLength(8);
    // A fifth device is still refused: the four leases are stored, not only counted.
    const late = await leases.acquire({ profileId: 'p-race', titleId: 't', device: 'late', limit: 4 });
    expect(late).toEqual({ granted: false, reason: 'stream_limit' });
  });

  it("replaces a device's own stream instead of taking another slot", async () => {
    const leases = createStreamLeases(open());
    const request = { profileId: 'p-one', titleId: 't', device: 'tv', limit: 1 };
    const first = await leases.acquire(request);
    const second = await leases.acquire({ ...request, titleId: 'other' });
    expect(first.granted && second.granted).toBe(true);
    expect(await leases.acquire({ ...request, device: 'web' })).toEqual({ granted: false, reason: 'stream_limit' });
  });

  it('frees the slot of a released session for another device; an unknown session is no error', async () => {
    const leases = createStreamLeases(open());
    const tv = await leases.acquire({ profileId: 'p-rel', titleId: 't', device: 'tv', limit: 1 });
    if (!tv.granted) throw new Error('the first stream must be granted');
    expect(await leases.release('p-rel', 'no-such-session')).toBe(false);
    expect((await leases.acquire({ profileId: 'p-rel', titleId: 't', device: 'web', limit: 1 })).granted).toBe(false);
    expect(await leases.release('p-rel', tv.lease.sessionId)).toBe(true);
    expect(await leases.release('p-rel', tv.lease.sessionId)).toBe(false);
    expect((await leases.acquire({ profileId: 'p-rel', titleId: 't', device: 'web', limit: 1 })).granted).toBe(true);
  });

  it('reuses the slot of an expired lease', async () => {
    let now = 1_000;
    const kv = open();
    const leases = createStreamLeases(kv, { now: () => now });
    expect((await leases.acquire({ profileId: 'p-exp', titleId: 't', device: 'tv', limit: 1 })).granted).toBe(true);
    expect((await leases.acquire({ profileId: 'p-exp', titleId: 't', device: 'web', limit: 1 })).granted).toBe(false);
    now += 5 * 60 * 60 * 1000; // past the 4 h session
    expect((await leases.acquire({ profileId: 'p-exp', titleId: 't', device: 'web', limit: 1 })).granted).toBe(true);
  });

  it('lets viewers of different profiles play at once without a single lost race', async () => {
    // One attempt only: any conflict between these writers would throw LeaseContention.
    const leases = createStreamLeases(open(), { maxAttempts: 1 });
    const results = await Promise.all(
      Array.from({ length: 32 }, (_, i) =>
        leases.acquire({ profileId: `p-many-${i}`, titleId: 't', device: 'tv', limit: 4 }),
      ),
    );
    expect(results.every((r) => r.granted)).toBe(true);
  });
});
