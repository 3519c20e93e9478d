import { z } from 'zod';
import { seedCaches } from '../data/seed.ts';
import { createHttpService, type HttpService, parse } from '../lib/http-service.ts';

const requestSchema = z.object({ titleId: z.string().min(1), country: z.string().length(2), profile: z.string() });
const healthSchema = z.object({ healthy: z.boolean().optional(), load: z.number().min(0).max(1).optional() });
const REGION: Record<string, string> = { US: 'US', BR: 'US', JP: 'US' };

/**
 * `steering`: picks the best edge caches for a session by health and load
 * (caches are simulated: each has a health flag and a load that every
 * steered session raises a little and time lowers), and builds their URLs.
 */
export function createSteeringService(): HttpService {
  const caches = seedCaches.map((cache) => ({ ...cache, healthy: true, load: 0.2 }));
  return createHttpService('steering', [
    {
      method: 'POST',
      path: '/steer',
      handle({ body }) {
        const { titleId, country, profile } = parse(requestSchema, body);
        const region = REGION[country] ?? 'EU';
        const ranked = caches
          .filter((cache) => cache.healthy)
          .sort((a, b) => Number(b.region === region) - Number(a.region === region) || a.load - b.load)
          .slice(0, 2);
        if (ranked.length === 0) return { status: 503, body: { error: 'no_healthy_cache' } };
        for (const cache of caches) cache.load = Math.max(0, cache.load * 0.99);
        if (ranked[0]) ranked[0].load = Math.min(1, ranked[0].load + 0.01);
        return {
          status: 200,
          body: { caches: ranked.map((c) => ({ id: c.id, url: `${c.baseUrl}/${titleId}/${profile}/manifest.mpd` })) },
        };
      },
    },
    {
      method: 'GET',
      path: '/caches',
      handle: () => ({ status: 200, body: { caches } }),
    },
    {
      method: 'PUT',
      path: '/caches/:id',
      handle({ params, body }) {
        const cache = caches.find((c) => c.id === params.id);
        if (!cache) return { status: 404, body: { error: 'unknown_cache' } };
        Object.assign(cache, parse(healthSchema, body));
        return { status: 200, body: cache };
      },
    },
  ]);
}
