import { z } from 'zod';
import type { Manifest, Subscriber, Title } from '../data/schemas.ts';
import { subscriberSchema, titleSchema } from '../data/schemas.ts';
import { createService, type Service, type ServiceConfig } from '../http/service.ts';

const RESOLUTIONS = ['480p', '720p', '1080p', '2160p'] as const;
type Resolution = (typeof RESOLUTIONS)[number];
const LADDER: Record<Resolution, { bitrateKbps: number; codec: string }[]> = {
  '480p': [{ bitrateKbps: 1050, codec: 'avc1' }],
  '720p': [{ bitrateKbps: 3000, codec: 'avc1' }],
  '1080p': [
    { bitrateKbps: 5800, codec: 'avc1' },
    { bitrateKbps: 4300, codec: 'hevc' },
  ],
  '2160p': [{ bitrateKbps: 15_600, codec: 'hevc' }],
};
const PLAN_CAP: Record<Subscriber['plan'], Resolution> = { basic: '480p', standard: '1080p', premium: '2160p' };
const DEVICE_CAP: Record<string, Resolution> = { mobile: '720p', tablet: '1080p', tv: '2160p', web: '1080p' };

const requestSchema = z.object({
  title: titleSchema,
  subscriber: subscriberSchema,
  device: z.enum(['tv', 'web', 'mobile', 'tablet']),
});

/** The manifest for a title on a device under a plan: every rendition up to the lowest of the three caps. */
export function decideManifest(title: Title, subscriber: Subscriber, device: string): Manifest {
  const cap = Math.min(
    RESOLUTIONS.indexOf(title.maxResolution),
    RESOLUTIONS.indexOf(PLAN_CAP[subscriber.plan]),
    RESOLUTIONS.indexOf(DEVICE_CAP[device] ?? '720p'),
  );
  const video = RESOLUTIONS.slice(0, cap + 1).flatMap((resolution) =>
    LADDER[resolution].map((rung) => ({ resolution, ...rung })),
  );
  return {
    titleId: title.id,
    profile: `${device}-${RESOLUTIONS[cap]}`,
    video,
    audio: title.audio,
    subtitles: title.subtitles,
  };
}

/** `playback-decision`: what to stream — tracks, bitrates, audio and subtitles for the device. */
export function createPlaybackDecisionService(config?: Partial<ServiceConfig>): Service {
  return createService({
    name: 'playback-decision',
    ...(config ? { config } : {}),
    routes(app) {
      app.post('/manifests', { schema: { body: requestSchema } }, async (request) => {
        const { title, subscriber, device } = request.body;
        return decideManifest(title, subscriber, device);
      });
    },
  });
}
