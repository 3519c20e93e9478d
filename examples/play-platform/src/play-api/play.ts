import { BadRequestError, isBadRequestError } from '@backlot/resilience';
import type { License, Manifest, Subscriber, Title } from '../data/schemas.ts';
import type { ServiceClients } from './clients.ts';
import { step } from './trace.ts';

/** What a client asks to play. */
export interface PlayRequest {
  profileId: string;
  titleId: string;
  device: 'tv' | 'web' | 'mobile' | 'tablet';
}

/** What the Play API answers: everything the player needs to start. */
export interface PlaybackContext {
  titleId: string;
  name: string;
  resumePositionMs: number;
  manifest: Manifest;
  streamUrls: string[];
  license: License;
  country: string;
}

/** No licence could be issued for a fault of the licence service: playback cannot start. */
export class LicenseUnavailable extends Error {
  constructor(cause: unknown) {
    super('licences cannot be issued right now, and playback needs one', { cause });
  }
}

/** The request cannot be served for a reason the client must see (not a fault). */
export class PlaybackRefused extends BadRequestError {
  readonly status: number;
  readonly reason: string;
  constructor(status: number, reason: string, message: string) {
    super(message);
    this.status = status;
    this.reason = reason;
  }
}

function checkRights(title: Title, subscriber: Subscriber, today: string): void {
  const window = title.rights[subscriber.country];
  if (!window || today < window.from || today > window.to) {
    throw new PlaybackRefused(451, 'not_available', `${title.name} is not available in ${subscriber.country}`);
  }
  if (title.maturity > subscriber.maturity) {
    throw new PlaybackRefused(403, 'maturity', `${title.name} is rated ${title.maturity}+ for this profile`);
  }
}

/**
 * The playback flow in Netflix's three phases:
 * A (parallel) subscriber, catalog, bookmarks → B playback decision →
 * C (parallel) steering and licence.
 */
export async function play(clients: ServiceClients, request: PlayRequest): Promise<PlaybackContext> {
  const { profileId, titleId, device } = request;

  // Phase A: independent lookups, in parallel.
  const [subscriber, title, resumePositionMs] = await Promise.all([
    step('subscriber', (probe) => clients.getSubscriber(probe, profileId)),
    step('catalog', (probe) => clients.getTitle(probe, titleId)),
    step('bookmarks', (probe) => clients.getResumePosition(probe, profileId, titleId)),
  ]);
  checkRights(title, subscriber, new Date().toISOString().slice(0, 10));

  // Phase B: decide what to stream — needs the title and the plan.
  const manifest = await step('playback-decision', (probe) => clients.getManifest(probe, title, subscriber, device));

  // Phase C: where to stream from, and the licence to play it — in parallel.
  const [steering, license] = await Promise.all([
    step('steering', (probe) => clients.steer(probe, titleId, subscriber.country, manifest.profile)),
    step('license', (probe) =>
      clients.getLicense(probe, profileId, titleId, device, subscriber.streamLimit).catch((error: unknown) => {
        throw isBadRequestError(error) ? error : new LicenseUnavailable(error);
      }),
    ),
  ]);

  return {
    titleId,
    name: title.name,
    resumePositionMs,
    manifest,
    streamUrls: steering.caches.map((cache) => cache.url),
    license,
    country: subscriber.country,
  };
}
