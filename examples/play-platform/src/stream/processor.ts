import {
  type CheckpointStore,
  createPipeline,
  keyValueSink,
  objectStoreSink,
  type Sink,
  type Transport,
  type WindowResult,
} from '@backlot/events';
import type { KeyValueStore, ObjectStore } from '@backlot/storage';
import { playEvents } from '../events.ts';
import type { ViewingHistory } from './viewing-history.ts';
import { type Trending, trendingSchema } from './views.ts';

/** Windows of the trending computation (event time). */
export interface TrendingWindow {
  /** Window length (default 60 s: "per minute"). */
  sizeMs: number;
  /** A new window starts every… (default 10 s: sliding minutes). */
  advanceMs: number;
  /** Late events still counted (default 5 s). */
  allowedLatenessMs: number;
  /** A partition quiet this long (wall clock) no longer holds windows open (default 5 s). */
  idleTimeoutMs: number;
}

/** Options of {@link startStreamProcessor}. */
export interface StreamProcessorOptions {
  transport: Transport;
  /** Where raw events and outputs are persisted (S3 in real mode). */
  store: ObjectStore;
  /** Where the served trending views live. */
  kv: KeyValueStore;
  /** Where progress goes, for continue-watching (a row per profile in `kv`, or a time series on Cassandra). */
  history: ViewingHistory;
  topic: string;
  /**
   * The consumer group (default `play-stream-processor`). One group per
   * topic: kafkajs' assigner hands every subscribed topic's partitions to all
   * members of a group, so two platforms on different topics of one cluster
   * must not share it.
   */
  groupId?: string;
  window?: Partial<TrendingWindow>;
  /** How often offsets are committed and sinks flushed (default 1000 ms). */
  commitIntervalMs?: number;
  /**
   * Where the trending windows are checkpointed; in real mode
   * `kafkaCheckpoints({ brokers })`. With it, a restart (Ctrl-C, SIGKILL, a
   * broker stop/start) replays at most one commit interval instead of the open
   * windows, and never counts an event twice in trending; the windows are then
   * per partition, and `idleTimeoutMs` does not apply. Without it (the
   * embedded log has no transactions), offsets are held back to the oldest
   * open window.
   */
  checkpoints?: CheckpointStore;
}

/**
 * Keeps, per country, the ranking of the latest closed window. Window results
 * of one window arrive one per (country, title), and with checkpointed state
 * one per source partition too, possibly in different batches (each partition
 * closes its windows by its own event time): each country's newest window is
 * kept in memory and its shares added up, and a flush stores the countries it
 * changed. Storing is a `put` of the whole ranking, so a result replayed after
 * a crash can never be counted twice.
 */
function trendingSink(kv: KeyValueStore): Sink<WindowResult<number>> {
  const trending = kv.namespace('trending', trendingSchema);
  const latest = new Map<string, Trending>();
  const changed = new Set<string>();
  return {
    name: 'trending',
    write(result) {
      const [country, titleId] = result.key.split('/') as [string, string];
      const current = latest.get(country);
      if (!current || current.windowEnd < result.end) {
        latest.set(country, {
          country,
          windowStart: result.start,
          windowEnd: result.end,
          titles: [{ titleId, plays: result.value }],
        });
      } else if (current.windowEnd === result.end) {
        const title = current.titles.find((t) => t.titleId === titleId);
        if (title) title.plays += result.value;
        else current.titles.push({ titleId, plays: result.value });
      } else {
        return; // an older window than the one served
      }
      changed.add(country);
    },
    async flush() {
      const batch = [...changed].map((country) => latest.get(country) as Trending);
      changed.clear();
      await Promise.all(
        batch.map((view) =>
          trending.put(view.country, {
            ...view,
            titles: [...view.titles].sort((a, b) => b.plays - a.plays).slice(0, 10),
          }),
        ),
      );
    },
  };
}

/**
 * The stream processor (Keystone's role): consumes the Play platform's events
 * and computes trending titles per country over sliding minutes and each
 * profile's continue-watching row, persisting the raw events and the trending
 * windows to the object store (partitioned by time), serving trending from the
 * key-value store and recording progress in the viewing history.
 */
export async function startStreamProcessor(options: StreamProcessorOptions) {
  const window: TrendingWindow = {
    sizeMs: 60_000,
    advanceMs: 10_000,
    allowedLatenessMs: 5_000,
    idleTimeoutMs: 5_000,
    ...options.window,
  };
  const pipeline = createPipeline({
    catalog: playEvents,
    groupId: options.groupId ?? 'play-stream-processor',
    transport: options.transport,
    topics: [options.topic],
    commitIntervalMs: options.commitIntervalMs ?? 1000,
    ...(options.checkpoints ? { checkpoints: options.checkpoints } : {}),
  });

  // Step 8: the raw events, persisted as they are.
  pipeline.events().to(objectStoreSink({ store: options.store, prefix: 'raw/', maxAgeMs: 5_000 }));

  // Trending titles per country over sliding minutes.
  const trending = pipeline.events('playback.started').window({
    type: 'hopping',
    sizeMs: window.sizeMs,
    advanceMs: window.advanceMs,
    allowedLatenessMs: window.allowedLatenessMs,
    idleTimeoutMs: window.idleTimeoutMs,
    key: (event) => `${event.payload.country}/${event.payload.titleId}`,
    init: () => 0,
    add: (plays) => plays + 1,
  });
  trending.to(trendingSink(options.kv));
  trending.to(objectStoreSink({ store: options.store, prefix: 'output/', name: 'trending', maxAgeMs: 5_000 }));

  // Continue watching: the latest position per profile and title, from every progress event.
  pipeline
    .events()
    .flatMap((event) => {
      switch (event.name) {
        case 'playback.started':
          return [{ ...event.payload, positionMs: event.payload.resumePositionMs, id: event.id, time: event.time }];
        case 'playback.heartbeat':
        case 'playback.stopped':
        case 'bookmark.updated':
          return [{ ...event.payload, id: event.id, time: event.time }];
        default:
          return [];
      }
    })
    .map(({ profileId, titleId, positionMs, id, time }) => ({
      progress: { profileId, titleId, positionMs, at: Date.parse(time) },
      eventId: id,
    }))
    .to(
      keyValueSink({
        // The latest point per profile and title between flushes; the event id keeps a replay from adding an entry.
        target: { put: (_id, { progress, eventId }) => options.history.record(progress, eventId) },
        key: ({ progress }) => `${progress.profileId}/${progress.titleId}`,
      }),
    );

  await pipeline.start();
  return {
    metrics: () => pipeline.metrics(),
    close: () => pipeline.close(),
  };
}
