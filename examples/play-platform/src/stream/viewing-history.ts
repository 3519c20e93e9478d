import type { KeyValueStore, TimeSeries } from '@backlot/storage';
import { z } from 'zod';
import type { ReadinessCheck } from '../http/service.ts';
import { type ContinueWatching, continueWatchingSchema } from './views.ts';

/** One progress point of a profile on a title, as the stream processor derives it from an event. */
export const progressSchema = z.object({
  profileId: z.string().min(1),
  titleId: z.string().min(1),
  positionMs: z.number().int().min(0),
  /** Event time, epoch ms. */
  at: z.number(),
});
export type Progress = z.infer<typeof progressSchema>;

/** Titles a continue-watching row holds at most. */
export const CONTINUE_WATCHING_TITLES = 20;

/**
 * Where the stream processor records progress and where the `views` service
 * reads each profile's continue-watching row from.
 */
export interface ViewingHistory {
  /** Records a progress point; `eventId` (the event's id) makes a replayed event write the same entry. */
  record(progress: Progress, eventId: string): Promise<unknown>;
  /** The profile's titles in progress, most recent first ({@link CONTINUE_WATCHING_TITLES} at most). */
  continueWatching(profileId: string, signal?: AbortSignal): Promise<ContinueWatching>;
  /** Readiness of the history's own store, when it is not the services' key-value store. */
  readonly readiness?: ReadinessCheck | undefined;
}

/**
 * Embedded defaults: one continue-watching row per profile in the key-value
 * store, merged on each progress point (read, merge, conditional write).
 */
export function rowViewingHistory(kv: KeyValueStore): ViewingHistory {
  const rows = kv.namespace('continue-watching', continueWatchingSchema);
  return {
    record: (progress) =>
      rows.update(
        progress.profileId,
        (current): ContinueWatching => ({
          profileId: progress.profileId,
          titles: [
            { titleId: progress.titleId, positionMs: progress.positionMs, at: progress.at },
            ...(current?.titles ?? []).filter((t) => t.titleId !== progress.titleId),
          ]
            .sort((a, b) => b.at - a.at)
            .slice(0, CONTINUE_WATCHING_TITLES),
        }),
        { maxAttempts: 10 },
      ),
    async continueWatching(profileId, signal) {
      const item = await rows.get(profileId, signal ? { signal } : undefined);
      return item?.value ?? { profileId, titles: [] };
    },
  };
}

/** Options of {@link seriesViewingHistory}. */
export interface SeriesViewingHistoryOptions {
  /** Entries expire after this many seconds (default 90 days). */
  ttlSeconds?: number;
  /** Newest entries read at most to build a continue-watching row (default 500). */
  maxEntries?: number;
}

/**
 * Real mode on Cassandra: viewing history as a wide-row time series, one
 * partition per profile, each progress point appended (no read-modify-write,
 * so concurrent points never conflict) and expired by TTL. Continue-watching
 * is the newest entries of the partition, read newest first a page at a time,
 * keeping each title's latest point, until the row is full.
 */
export function seriesViewingHistory(
  series: TimeSeries<Progress>,
  options: SeriesViewingHistoryOptions = {},
): ViewingHistory {
  const ttlSeconds = options.ttlSeconds ?? 90 * 24 * 3600;
  const maxEntries = options.maxEntries ?? 500;
  return {
    record: (progress, eventId) =>
      series.append(progress.profileId, progress, { at: new Date(progress.at), ttlSeconds, dedupeKey: eventId }),
    async continueWatching(profileId, signal) {
      const titles = new Map<string, ContinueWatching['titles'][number]>();
      let read = 0;
      for await (const entry of series.entries(profileId, { limit: 100, ...(signal ? { signal } : {}) })) {
        const { titleId, positionMs, at } = entry.value;
        if (!titles.has(titleId)) titles.set(titleId, { titleId, positionMs, at });
        if (titles.size >= CONTINUE_WATCHING_TITLES || ++read >= maxEntries) break;
      }
      return { profileId, titles: [...titles.values()] };
    },
    readiness: {
      name: 'viewing-history',
      check: (signal) => series.latest('readiness-probe', { limit: 1, signal }),
    },
  };
}
