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

describe.each(stores)('two licence instances on one %s store (each with its own memory of the slots)', (_, open) => {
  it('a stream one instance released is not refused by the other from what it remembered', async () => {
    const kv = open();
    const a = createStreamLeases(kv);
    const b = createStreamLeases(kv);
    const tv = await b.acquire({ profileId: 'p-two-1', titleId: 't', device: 'tv', limit: 1 });
    if (!tv.granted) throw new Error('the first stream must be granted');
    expect(await a.release('p-two-1', tv.lease.sessionId)).toBe(true);
    // b still remembers the slot as taken by the tv: it reads the store before refusing.
    expect((await b.acquire({ profileId: 'p-two-1', titleId: 't', device: 'web', limit: 1 })).granted).toBe(true);
  });

  it('a slot one instance remembers as free but the other took is not granted twice', async () => {
    const kv = open();
    const a = createStreamLeases(kv);
    const b = createStreamLeases(kv);
    expect(await b.release('p-two-2', 'none')).toBe(false); // b now remembers every slot as free
    expect((await a.acquire({ profileId: 'p-two-2', titleId: 't', device: 'tv', limit: 1 })).granted).toBe(true);
    expect(await b.acquire({ profileId: 'p-two-2', titleId: 't', device: 'web', limit: 1 })).toEqual({
      granted: false,
      reason: 'stream_limit',
    });
  });

  it('two instances racing for the slots still grant exactly the limit', async () => {
    const kv = open();
    const instances = [createStreamLeases(kv, { maxAttempts: 20 }), createStreamLeases(kv, { maxAttempts: 20 })];
    // Both remember the slots as free before the race.
    await Promise.all(instances.map((leases) => leases.release('p-two-3', 'none')));
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        instances[i % 2]?.acquire({ profileId: 'p-two-3', titleId: 't', device: `d-${i}`, limit: 3 }),
      ),
    );
    expect(results.filter((r) => r?.granted)).toHaveLength(3);
  });
});

describe('what the licence service reads', () => {
  it('a play on a device that already has a slot reads nothing from the store; one write claims it', async () => {
    const store = createMemoryStore();
    const calls: string[] = [];
    const counted = new Proxy(store, {
      get(target, property, receiver) {
        const value = Reflect.get(target, property, receiver);
        if (property !== 'get' && property !== 'put') return value;
        return (...args: unknown[]) => {
          calls.push(String(property));
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
    const leases = createStreamLeases(createKeyValueStore({ store: counted }));
    const request = { profileId: 'p-reads', titleId: 't', device: 'tv', limit: 4 };
    expect((await leases.acquire(request)).granted).toBe(true);
    expect(calls.filter((c) => c === 'get')).toHaveLength(4); // the first play reads the four slots
    calls.length = 0;
    expect((await leases.acquire({ ...request, titleId: 'next' })).granted).toBe(true);
    expect(calls).toEqual(['put']);
  });
});
