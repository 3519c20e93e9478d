import {
  type CircuitBreakerOptions,
  type CommandLogger,
  type CommandRegistry,
  defineCollapser,
  defineCommand,
} from '@backlot/resilience';
import { z } from 'zod';
import {
  type License,
  licenseSchema,
  type Manifest,
  manifestSchema,
  type Steering,
  type Subscriber,
  steeringSchema,
  subscriberSchema,
  type Title,
  titleSchema,
} from '../data/schemas.ts';
import { callService, ServiceRejection } from '../lib/service-client.ts';
import { decideManifest } from '../services/playback-decision.ts';
import { continueWatchingSchema, trendingSchema } from '../stream/views.ts';
import type { Probe } from './trace.ts';

/** Where the microservices listen. */
export interface ServiceUrls {
  subscriber: string;
  catalog: string;
  bookmarks: string;
  playbackDecision: string;
  steering: string;
  license: string;
  views: string;
}

/** Static CDN list used when steering is down. */
export const DEFAULT_CDNS = ['https://cdn-default-1.backlot.test', 'https://cdn-default-2.backlot.test'];

/** Remembers the last good answer per key, for "a recent cached value" fallbacks. */
class RecentValues<T> {
  readonly #values = new Map<string, T>();
  readonly max: number;
  constructor(max = 10_000) {
    this.max = max;
  }
  set(key: string, value: T): T {
    this.#values.delete(key);
    this.#values.set(key, value);
    if (this.#values.size > this.max) this.#values.delete(this.#values.keys().next().value as string);
    return value;
  }
  get(key: string): T | undefined {
    return this.#values.get(key);
  }
}

/** Error for a fallback that has nothing to answer with. */
function noFallback(service: string, reason: string, error: unknown): never {
  throw new Error(`${service} is ${reason === 'failure' ? 'failing' : reason} and no recent value is known`, {
    cause: error,
  });
}

/**
 * The Play API's clients of its microservices: every call is a command, with
 * the fallback chosen for what the user sees (see the README's table).
 */
export function createServiceClients(
  urls: ServiceUrls,
  registry: CommandRegistry,
  logger?: CommandLogger,
  /** Breaker settings for every command (default: Hystrix's; tests shorten the sleep window). */
  circuitBreaker?: CircuitBreakerOptions,
) {
  const recentSubscribers = new RecentValues<Subscriber>();
  const recentTitles = new RecentValues<Title>();
  // Each dependency gets its own bulkhead, sized for the example's load generator.
  const common = {
    registry,
    bulkhead: { maxConcurrent: 256, maxQueue: 256 },
    ...(logger ? { logger } : {}),
    ...(circuitBreaker ? { circuitBreaker } : {}),
  };

  // Subscriber and catalog fall back only to a value seen before: a profile or title not seen
  // yet has no fallback, so their timeouts leave room for a busy host (500 ms), unlike steering's.
  const getSubscriber = defineCommand({
    ...common,
    key: 'subscriber.get',
    group: 'subscriber',
    timeoutMs: 500,
    run: async ({ signal }, _probe: Probe, profileId: string) =>
      recentSubscribers.set(
        profileId,
        await callService(
          'subscriber',
          `${urls.subscriber}/subscribers/${encodeURIComponent(profileId)}`,
          subscriberSchema,
          {
            signal,
          },
        ),
      ),
    fallback: ({ reason, error }, probe, profileId) => {
      const recent = recentSubscribers.get(profileId);
      if (!recent) noFallback('subscriber', reason, error);
      probe.fallback = reason;
      return recent;
    },
  });

  // Titles: many single-id lookups within 2 ms are collapsed into one batch call.
  const getTitlesBatch = defineCommand({
    ...common,
    key: 'catalog.getTitles',
    group: 'catalog',
    timeoutMs: 500,
    run: async ({ signal }, ids: readonly string[]) =>
      (
        await callService(
          'catalog',
          `${urls.catalog}/titles/batch`,
          z.object({ titles: z.array(titleSchema.nullable()) }),
          {
            method: 'POST',
            body: { ids },
            signal,
          },
        )
      ).titles,
  });
  const titles = defineCollapser<string, Title>({
    name: 'catalog.titles',
    scope: 'global',
    windowMs: 2,
    maxBatchSize: 50,
    batch: async (ids) =>
      (await getTitlesBatch([...ids])).map(
        (title, i) =>
          title ?? new ServiceRejection('catalog', 404, { error: 'unknown_title', message: `no title ${ids[i]}` }),
      ),
  });
  const getTitle = defineCommand({
    ...common,
    key: 'catalog.getTitle',
    group: 'catalog-collapsed',
    timeoutMs: 400,
    cacheKey: (_probe: Probe, titleId: string) => titleId, // one lookup per title per request
    run: async (_execution, _probe: Probe, titleId: string) => recentTitles.set(titleId, await titles(titleId)),
    fallback: ({ reason, error }, probe, titleId) => {
      const recent = recentTitles.get(titleId);
      if (!recent) noFallback('catalog', reason, error);
      probe.fallback = reason;
      return recent;
    },
  });

  const getResumePosition = defineCommand({
    ...common,
    key: 'bookmarks.get',
    group: 'bookmarks',
    timeoutMs: 150,
    run: async ({ signal }, _probe: Probe, profileId: string, titleId: string) =>
      (
        await callService(
          'bookmarks',
          `${urls.bookmarks}/bookmarks/${encodeURIComponent(profileId)}/${encodeURIComponent(titleId)}`,
          z.object({ positionMs: z.number() }),
          { signal },
        )
      ).positionMs,
    fallback: ({ reason }, probe) => {
      probe.fallback = reason;
      return 0; // start from the beginning
    },
  });

  const getManifest = defineCommand({
    ...common,
    key: 'playback-decision.decide',
    group: 'playback-decision',
    timeoutMs: 250,
    run: ({ signal }, _probe: Probe, title: Title, subscriber: Subscriber, device: string): Promise<Manifest> =>
      callService('playback-decision', `${urls.playbackDecision}/manifests`, manifestSchema, {
        method: 'POST',
        body: { title, subscriber, device },
        signal,
      }),
    fallback: ({ reason }, probe, title) => {
      probe.fallback = reason;
      // The precomputed default profile: 720p on a standard plan, playable everywhere.
      return decideManifest(title, { ...DEFAULT_PROFILE, country: 'US' }, 'mobile');
    },
  });

  const steer = defineCommand({
    ...common,
    key: 'steering.steer',
    group: 'steering',
    timeoutMs: 150,
    run: ({ signal }, _probe: Probe, titleId: string, country: string, profile: string): Promise<Steering> =>
      callService('steering', `${urls.steering}/steer`, steeringSchema, {
        method: 'POST',
        body: { titleId, country, profile },
        signal,
      }),
    fallback: ({ reason }, probe, titleId, _country, profile) => {
      probe.fallback = reason;
      return {
        caches: DEFAULT_CDNS.map((base, i) => ({
          id: `default-${i + 1}`,
          url: `${base}/${titleId}/${profile}/manifest.mpd`,
        })),
      };
    },
  });

  // No fallback: playback without a licence is impossible, the caller gets a clear error.
  // A durable conditional write (fsync on the filesystem store, a PUT on S3): the
  // longest timeout of the flow, since a slow licence is better than no playback.
  const getLicense = defineCommand({
    ...common,
    key: 'license.issue',
    group: 'license',
    timeoutMs: 1000,
    run: (
      { signal },
      _probe: Probe,
      profileId: string,
      titleId: string,
      device: string,
      streamLimit: number,
    ): Promise<License> =>
      callService('license', `${urls.license}/licenses`, licenseSchema, {
        method: 'POST',
        body: { profileId, titleId, device, streamLimit },
        signal,
      }),
  });

  const releaseSession = defineCommand({
    ...common,
    key: 'license.release',
    group: 'license',
    timeoutMs: 400,
    run: ({ signal }, profileId: string, sessionId: string) =>
      callService(
        'license',
        `${urls.license}/sessions/${encodeURIComponent(profileId)}/${encodeURIComponent(sessionId)}`,
        z.object({ stopped: z.string() }),
        { method: 'DELETE', signal },
      ),
    fallback: () => ({ stopped: '' }), // the session expires by itself
  });

  const saveBookmark = defineCommand({
    ...common,
    key: 'bookmarks.put',
    group: 'bookmarks',
    timeoutMs: 300,
    retry: { maxAttempts: 2, baseDelayMs: 20 },
    run: ({ signal }, profileId: string, titleId: string, positionMs: number) =>
      callService(
        'bookmarks',
        `${urls.bookmarks}/bookmarks/${encodeURIComponent(profileId)}/${encodeURIComponent(titleId)}`,
        z.object({ positionMs: z.number() }),
        { method: 'PUT', body: { positionMs }, signal },
      ),
  });

  const getTrending = defineCommand({
    ...common,
    key: 'views.trending',
    group: 'views',
    timeoutMs: 200,
    run: ({ signal }, _probe: Probe, country: string) =>
      callService('views', `${urls.views}/trending/${encodeURIComponent(country)}`, trendingSchema, { signal }),
    fallback: ({ reason }, probe, country) => {
      probe.fallback = reason;
      return { country, windowStart: 0, windowEnd: 0, titles: [] };
    },
  });

  const getContinueWatching = defineCommand({
    ...common,
    key: 'views.continueWatching',
    group: 'views',
    timeoutMs: 200,
    run: ({ signal }, _probe: Probe, profileId: string) =>
      callService('views', `${urls.views}/continue-watching/${encodeURIComponent(profileId)}`, continueWatchingSchema, {
        signal,
      }),
    fallback: ({ reason }, probe, profileId) => {
      probe.fallback = reason;
      return { profileId, titles: [] };
    },
  });

  return {
    getSubscriber,
    getTitle,
    getResumePosition,
    getManifest,
    steer,
    getLicense,
    releaseSession,
    saveBookmark,
    getTrending,
    getContinueWatching,
  };
}

const DEFAULT_PROFILE: Subscriber = {
  profileId: 'default',
  name: 'default',
  plan: 'standard',
  country: 'US',
  streamLimit: 1,
  maturity: 18,
};

/** The clients, as the Play API uses them. */
export type ServiceClients = ReturnType<typeof createServiceClients>;
