import { z } from 'zod';

/** A subscriber profile: what the `subscriber` service stores. */
export const subscriberSchema = z.object({
  profileId: z.string().min(1),
  name: z.string().min(1),
  plan: z.enum(['basic', 'standard', 'premium']),
  country: z.string().length(2),
  streamLimit: z.number().int().min(1).max(8),
  maturity: z.number().int().min(0).max(18),
});
export type Subscriber = z.infer<typeof subscriberSchema>;

/** A title and its rights windows per country: what the `catalog` service stores. */
export const titleSchema = z.object({
  id: z.string().min(1),
  name: z.string().min(1),
  maturity: z.number().int().min(0).max(18),
  runtimeMs: z.number().int().positive(),
  audio: z.array(z.string()).min(1),
  subtitles: z.array(z.string()),
  maxResolution: z.enum(['480p', '720p', '1080p', '2160p']),
  /** ISO dates per country: the title may play there between `from` and `to`. */
  rights: z.record(z.string().length(2), z.object({ from: z.iso.date(), to: z.iso.date() })),
});
export type Title = z.infer<typeof titleSchema>;

/** A resume position: what the `bookmarks` service stores. */
export const bookmarkSchema = z.object({
  profileId: z.string().min(1),
  titleId: z.string().min(1),
  positionMs: z.number().int().min(0),
  updatedAt: z.iso.datetime(),
});
export type Bookmark = z.infer<typeof bookmarkSchema>;

/** One stream a profile plays now: a lease on one of its plan's stream slots, held by the `license` service. */
export const streamLeaseSchema = z.object({
  sessionId: z.string().min(1),
  profileId: z.string().min(1),
  titleId: z.string().min(1),
  device: z.string().min(1),
  /** Epoch ms; a lease at or past it (released leases hold 0) frees its slot. */
  expiresAt: z.number().int().min(0),
});
export type StreamLease = z.infer<typeof streamLeaseSchema>;

/** One video rendition of a manifest. */
export const videoTrackSchema = z.object({
  resolution: z.enum(['480p', '720p', '1080p', '2160p']),
  bitrateKbps: z.number().int().positive(),
  codec: z.string(),
});

/** What `playback-decision` answers: the tracks to stream for this device and plan. */
export const manifestSchema = z.object({
  titleId: z.string(),
  profile: z.string(),
  video: z.array(videoTrackSchema).min(1),
  audio: z.array(z.string()).min(1),
  subtitles: z.array(z.string()),
});
export type Manifest = z.infer<typeof manifestSchema>;

/** What `steering` answers: edge caches to fetch segments from, best first. */
export const steeringSchema = z.object({
  caches: z.array(z.object({ id: z.string(), url: z.string() })).min(1),
});
export type Steering = z.infer<typeof steeringSchema>;

/** What `license` answers. */
export const licenseSchema = z.object({
  licenseId: z.string(),
  sessionId: z.string(),
  titleId: z.string(),
  profileId: z.string(),
  expiresAt: z.number(),
  drm: z.literal('widevine'),
});
export type License = z.infer<typeof licenseSchema>;
