import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { fullJitterDelay } from '@backlot/resilience';
import {
  type Item,
  isConflictError,
  isNotFoundError,
  isPreconditionFailedError,
  type KeyValueStore,
} from '@backlot/storage';
import { type StreamLease, streamLeaseSchema } from '../../data/schemas.ts';

/** The most concurrent streams any plan allows (the subscriber schema's bound). */
export const MAX_STREAM_SLOTS = 8;
/** How long a stream lease lasts without being released. */
export const SESSION_MS = 4 * 60 * 60 * 1000;

/** What {@link StreamLeases.acquire} decided. */
export type AcquireResult = { granted: true; lease: StreamLease } | { granted: false; reason: 'stream_limit' };

/** Raised when every attempt lost a race for a slot: retryable, answered 503. */
export class LeaseContention extends Error {
  readonly code = 'lease_contention';
  constructor(profileId: string, attempts: number) {
    super(`profile ${profileId}: lost the race for a stream slot ${attempts} times; retry`);
    this.name = 'LeaseContention';
  }
}

/** Options of {@link createStreamLeases}. */
export interface StreamLeasesOptions {
  /** Rounds of read-then-claim before {@link LeaseContention} (default 6). */
  maxAttempts?: number;
  /** Backoff between rounds, with full jitter (default 5 ms base, 100 ms cap). */
  backoff?: { baseMs: number; capMs: number };
  /** The clock (tests). */
  now?: () => number;
  /** Slots whose last known version this instance keeps in memory (default 10 000; 0: read every slot each time). */
  cacheSlots?: number;
}

/** The licence service's concurrent-stream bookkeeping. */
export interface StreamLeases {
  /** Claims a stream slot for `device` (replacing that device's previous stream) within `limit`. */
  acquire(
    request: { profileId: string; titleId: string; device: string; limit: number },
    signal?: AbortSignal,
  ): Promise<AcquireResult>;
  /** Frees the slot of `sessionId`; an unknown or already freed session is not an error. */
  release(profileId: string, sessionId: string, signal?: AbortSignal): Promise<boolean>;
}

const isLostRace = (error: unknown) =>
  isPreconditionFailedError(error) || isConflictError(error) || isNotFoundError(error);

/**
 * Concurrent streams as one lease record per slot (`<profile>/<slot>`, slots
 * `0…limit-1`) instead of one list per profile: plays on different devices
 * claim different keys, so they write in parallel and never conflict; each
 * claim is a conditional write (create-if-absent on a free slot, put-if-version
 * on an expired one or on this device's own), so two devices racing for the
 * last slot cannot both get it. A lost race tries the next candidate slot,
 * then re-reads after a jittered, bounded backoff.
 *
 * Reads come from the versions this instance last read or wrote (a bounded
 * map), not from the store each time: on the filesystem store a read of the
 * `limit` slots cost more than the claim itself. The store stays the judge —
 * every claim is still a conditional write, so a stale version (another
 * licence instance wrote since) loses the race and the next round reads the
 * store; and before refusing for `stream_limit` the slots are read fresh, so a
 * stream another instance released is never refused from memory.
 */
export function createStreamLeases(kv: KeyValueStore, options: StreamLeasesOptions = {}): StreamLeases {
  const leases = kv.namespace('stream-leases', streamLeaseSchema);
  const maxAttempts = options.maxAttempts ?? 6;
  const backoff = options.backoff ?? { baseMs: 5, capMs: 100 };
  const now = options.now ?? Date.now;
  const pause = (attempt: number, signal?: AbortSignal) =>
    sleep(fullJitterDelay(attempt, backoff.baseMs, backoff.capMs), undefined, signal ? { signal } : undefined);
  const slotId = (profileId: string, slot: number) => `${profileId}/${slot}`;
  const cacheSlots = options.cacheSlots ?? 10_000;
  // Last known state per slot (undefined: known to be absent); insertion order is the eviction order.
  const known = new Map<string, Item<StreamLease> | undefined>();
  const remember = (id: string, item: Item<StreamLease> | undefined) => {
    if (cacheSlots === 0) return;
    known.delete(id);
    known.set(id, item);
    if (known.size > cacheSlots) known.delete(known.keys().next().value as string);
  };
  const readSlots = (profileId: string, count: number, fresh: boolean, signal?: AbortSignal) =>
    Promise.all(
      Array.from({ length: count }, async (_, slot) => {
        const id = slotId(profileId, slot);
        if (!fresh && known.has(id)) return { slot, item: known.get(id) };
        const item = await leases.get(id, signal ? { signal } : undefined);
        remember(id, item);
        return { slot, item };
      }),
    );

  return {
    async acquire({ profileId, titleId, device, limit }, signal) {
      const slots = Math.min(limit, MAX_STREAM_SLOTS);
      // The first round trusts what this instance knows; after a lost race, or before a refusal, the store.
      let fresh = false;
      for (let attempt = 1; attempt <= maxAttempts; attempt++) {
        const at = now();
        const current = await readSlots(profileId, slots, fresh, signal);
        const live = (lease: StreamLease | undefined) => lease !== undefined && lease.expiresAt > at;
        // This device's own slot first (a new play replaces its stream), then free or expired slots.
        const candidates = [
          ...current.filter(({ item }) => live(item?.value) && item?.value.device === device),
          ...current.filter(({ item }) => !live(item?.value)),
        ];
        if (candidates.length === 0) {
          if (fresh) return { granted: false, reason: 'stream_limit' };
          fresh = true;
          attempt--; // not a lost race: look at the store before refusing
          continue;
        }
        const lease: StreamLease = { sessionId: randomUUID(), profileId, titleId, device, expiresAt: at + SESSION_MS };
        for (const { slot, item } of candidates) {
          const id = slotId(profileId, slot);
          try {
            remember(
              id,
              await leases.put(id, lease, { ifVersion: item ? item.version : null, ...(signal ? { signal } : {}) }),
            );
            return { granted: true, lease };
          } catch (error) {
            if (!isLostRace(error)) throw error;
            known.delete(id);
          }
        }
        fresh = true;
        if (attempt < maxAttempts) await pause(attempt, signal);
      }
      throw new LeaseContention(profileId, maxAttempts);
    },

    async release(profileId, sessionId, signal) {
      let fresh = false;
      for (let attempt = 1; attempt <= maxAttempts; attempt++) {
        const held = (await readSlots(profileId, MAX_STREAM_SLOTS, fresh, signal)).find(
          ({ item }) => item?.value.sessionId === sessionId && item.value.expiresAt > 0,
        );
        if (!held?.item) {
          if (fresh) return false;
          fresh = true; // maybe another instance granted it: look at the store
          attempt--;
          continue;
        }
        const id = slotId(profileId, held.slot);
        try {
          // Expire it with a conditional write: a slot another play claimed meanwhile is left alone.
          remember(
            id,
            await leases.put(
              id,
              { ...held.item.value, expiresAt: 0 },
              { ifVersion: held.item.version, ...(signal ? { signal } : {}) },
            ),
          );
          return true;
        } catch (error) {
          if (!isLostRace(error)) throw error;
          known.delete(id);
        }
        fresh = true;
        if (attempt < maxAttempts) await pause(attempt, signal);
      }
      throw new LeaseContention(profileId, maxAttempts);
    },
  };
}
