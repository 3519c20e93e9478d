import { afterEach, describe, expect, it } from 'vitest';
import type { ObjectStore } from '../core/types.js';
import { isNotFoundError, isStorageError } from '../errors.js';
import { drain, rejection } from './helpers.js';
import { hungServer, midBodyServer, type RawServer } from './servers.js';

/**
 * Options of {@link describeObjectStoreFaults}. Each hook is optional: the
 * cases that need one an adapter does not give are skipped, with the reason.
 */
export interface FaultSuiteOptions {
  /** Shown in test names, e.g. `filesystem`. */
  name: string;
  /** Called after each case with every store it created. */
  disposeStore?: ((store: ObjectStore) => void | Promise<void>) | undefined;
  /**
   * Network adapters: a store that talks to the server at `endpoint`
   * (`http://127.0.0.1:<port>`, started by the suite), with short timeouts
   * (about 300 ms) so that the hung-server cases end quickly.
   */
  storeAt?: ((endpoint: string) => ObjectStore | Promise<ObjectStore>) | undefined;
  /**
   * A store whose backing location cannot work and never will: a root that is
   * a regular file, a bucket that does not exist.
   */
  unusableStore?: (() => ObjectStore | Promise<ObjectStore>) | undefined;
  /**
   * Adapters with cross-process locks: a fresh store, and a way to leave on
   * `key` the lock a writer killed while taking it would leave (`empty`, or
   * `partial`: cut short), as if that happened well before now.
   */
  brokenLocks?:
    | {
        createStore: () => ObjectStore | Promise<ObjectStore>;
        leave: (store: ObjectStore, key: string, kind: 'empty' | 'partial') => Promise<void>;
      }
    | undefined;
  /**
   * Adapters with crash leftovers: a fresh store, a way to kill a writer (in
   * another process) in the middle of writing `key`, and a list of what such
   * writers left behind (temp files, uncommitted parts) that the store has not
   * cleaned up. `reopen` gives a new store on the same backing location, as a
   * restarted service would get.
   */
  crashes?:
    | {
        createStore: () => ObjectStore | Promise<ObjectStore>;
        killWriterMidWrite: (store: ObjectStore, key: string) => Promise<void>;
        reopen: (store: ObjectStore) => ObjectStore | Promise<ObjectStore>;
        leftovers: (store: ObjectStore) => Promise<string[]>;
      }
    | undefined;
}

/** Every call of the interface, once, on a key that does not exist. */
function everyCall(store: ObjectStore): [string, () => Promise<unknown>][] {
  return [
    ['head', () => store.head('faults/k')],
    ['get', () => store.get('faults/k')],
    ['getStream', async () => drain((await store.getStream('faults/k')).body)],
    ['put', () => store.put('faults/k', 'v')],
    [
      'put (stream)',
      () =>
        store.put(
          'faults/k',
          (async function* () {
            yield Buffer.from('v');
          })(),
        ),
    ],
    ['delete', () => store.delete('faults/k')],
    ['listPage', () => store.listPage({ prefix: 'faults/' })],
    ['copy', () => store.copy('faults/k', 'faults/k2')],
  ];
}

function expectStorageError(error: unknown, call: string): void {
  expect(isStorageError(error), `${call}: ${String(error)}`).toBe(true);
}

/**
 * The fault suite of `@backlot/storage`: what every adapter must do when its
 * backend misbehaves: no call hangs on a server that never answers, a
 * download cut short or gone silent fails its stream with a typed error, an
 * unusable backing location fails every call with a non-retryable typed error,
 * a lock left by a killed writer does not stall its key, and a crashed
 * writer's leftovers are cleaned up. Give the hooks that apply to your adapter.
 *
 * @example
 * ```ts
 * import { describeObjectStoreFaults } from '@backlot/storage/testing';
 * describeObjectStoreFaults({
 *   name: 'my-adapter',
 *   storeAt: (endpoint) => createMyStore({ endpoint, timeoutMs: 300 }),
 * });
 * ```
 */
export function describeObjectStoreFaults(options: FaultSuiteOptions): void {
  const servers: RawServer[] = [];
  const stores: ObjectStore[] = [];
  const track = async (store: ObjectStore | Promise<ObjectStore>) => {
    const resolved = await store;
    stores.push(resolved);
    return resolved;
  };

  describe(`${options.name}: ObjectStore faults`, () => {
    afterEach(async () => {
      for (const store of stores.splice(0)) await options.disposeStore?.(store);
      for (const server of servers.splice(0)) await server.close();
    });

    const storeAt = options.storeAt;
    const noServer = `${options.name} gives no storeAt (not a network adapter)`;

    it('a server that accepts and never answers: every call rejects with a retryable StorageError', async (t) => {
      t.skip(!storeAt, noServer);
      if (!storeAt) return;
      const server = await hungServer();
      servers.push(server);
      const store = await track(storeAt(server.endpoint));
      for (const [call, run] of everyCall(store)) {
        const error = await rejection(run());
        expectStorageError(error, call);
        expect((error as { retryable: boolean }).retryable, `${call} is retryable`).toBe(true);
      }
    });

    it('a server closing mid-body: the download fails with a retryable StorageError', async (t) => {
      t.skip(!storeAt, noServer);
      if (!storeAt) return;
      const server = await midBodyServer({ declaredBytes: 1024 * 1024, sentBytes: 64 * 1024, after: 'close' });
      servers.push(server);
      const store = await track(storeAt(server.endpoint));
      const streamed = await rejection(store.getStream('faults/k').then((s) => drain(s.body)));
      expectStorageError(streamed, 'getStream');
      expect((streamed as { retryable: boolean }).retryable).toBe(true);
      const whole = await rejection(store.get('faults/k'));
      expectStorageError(whole, 'get');
      expect((whole as { retryable: boolean }).retryable).toBe(true);
    });

    it('a server going silent mid-body: the download fails with a retryable StorageError', async (t) => {
      t.skip(!storeAt, noServer);
      if (!storeAt) return;
      const server = await midBodyServer({ declaredBytes: 1024 * 1024, sentBytes: 64 * 1024, after: 'stall' });
      servers.push(server);
      const store = await track(storeAt(server.endpoint));
      const streamed = await rejection(store.getStream('faults/k').then((s) => drain(s.body)));
      expectStorageError(streamed, 'getStream');
      expect((streamed as { retryable: boolean }).retryable).toBe(true);
    });

    it('an unusable backing location: every call rejects with a non-retryable StorageError', async (t) => {
      t.skip(!options.unusableStore, `${options.name} gives no unusableStore`);
      if (!options.unusableStore) return;
      const store = await track(options.unusableStore());
      for (const [call, run] of everyCall(store)) {
        const error = await rejection(run());
        expectStorageError(error, call);
        expect((error as { retryable: boolean }).retryable, `${call} is not retryable`).toBe(false);
      }
    });

    it('a lock left empty or cut short by a killed writer does not stall its key', async (t) => {
      const locks = options.brokenLocks;
      t.skip(!locks, `${options.name} gives no brokenLocks (no cross-process locks)`);
      if (!locks) return;
      const store = await track(locks.createStore());
      for (const kind of ['empty', 'partial'] as const) {
        const key = `faults/locked-${kind}`;
        const first = await store.put(key, 'v1');
        await locks.leave(store, key, kind);
        // Not a ConflictError: nobody holds that lock.
        await store.put(key, 'v2', { ifMatch: first.etag });
        expect((await store.get(key)).body.toString()).toBe('v2');
        await locks.leave(store, key, kind);
        await store.delete(key);
        expect(isNotFoundError(await rejection(store.head(key)))).toBe(true);
      }
    });

    it('a writer killed mid-write: the key keeps its old version and the leftovers are cleaned up', async (t) => {
      const crashes = options.crashes;
      t.skip(!crashes, `${options.name} gives no crashes hooks`);
      if (!crashes) return;
      const store = await track(crashes.createStore());
      await store.put('faults/crashed', 'old version');
      await crashes.killWriterMidWrite(store, 'faults/crashed');
      const next = await track(crashes.reopen(store));
      expect((await next.get('faults/crashed')).body.toString()).toBe('old version');
      expect(await crashes.leftovers(next)).toEqual([]);
      await next.put('faults/crashed', 'new version');
      expect((await next.get('faults/crashed')).body.toString()).toBe('new version');
    });
  });
}
