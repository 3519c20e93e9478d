import { z } from 'zod';

/** Trending titles of one country: the plays of the latest closed window, most first. */
export const trendingSchema = z.object({
  country: z.string().length(2),
  windowStart: z.number(),
  windowEnd: z.number(),
  titles: z.array(z.object({ titleId: z.string(), plays: z.number().int().positive() })),
});
export type Trending = z.infer<typeof trendingSchema>;

/** A profile's continue-watching row: titles in progress, most recent first. */
export const continueWatchingSchema = z.object({
  profileId: z.string(),
  titles: z.array(z.object({ titleId: z.string(), positionMs: z.number().int().min(0), at: z.number() })).max(20),
});
export type ContinueWatching = z.infer<typeof continueWatchingSchema>;
