import { z } from 'zod';
import { seedCaches } from '../data/seed.ts';
import { createService, type Service, type ServiceConfig } from '../http/service.ts';

const requestSchema = z.object({ titleId: z.string().min(1), country: z.string().length(2), profile: z.string() });
const healthSchema = z.object({ healthy: z.boolean().optional(), load: z.number().min(0).max(1).optional() });
const REGION: Record<string, string> = { US: 'US', BR: 'US', JP: 'US' };

/**
 * `steering`: picks the best edge caches for a session by health and load
 * (caches are simulated: each has a health flag and a load that every
 * steered session raises a little and time lowers), and builds their URLs.
 */
export function createSteeringService(config?: Partial<ServiceConfig>): Service {
  const caches = seedCaches.map((cache) => ({ ...cache, healthy: true, load: 0.2 }));
  return createService({
    name: 'steering',
    ...(config ? { config } : {}),
    routes(app) {
      app.post('/steer', { schema: { body: requestSchema } }, async (request, reply) => {
        const { titleId, country, profile } = request.body;
        const region = REGION[country] ?? 'EU';
        const ranked = caches
          .filter((cache) => cache.healthy)
          .sort((a, b) => Number(b.region === region) - Number(a.region === region) || a.load - b.load)
          .slice(0, 2);
        if (ranked.length === 0) return reply.code(503).send({ error: 'no_healthy_cache' });
        for (const cache of caches) cache.load = Math.max(0, cache.load * 0.99);
        if (ranked[0]) ranked[0].load = Math.min(1, ranked[0].load + 0.01);
        return { caches: ranked.map((c) => ({ id: c.id, url: `${c.baseUrl}/${titleId}/${profile}/manifest.mpd` })) };
      });
      app.get('/caches', async () => ({ caches }));
      app.put(
        '/caches/:id',
        { schema: { params: z.object({ id: z.string().min(1) }), body: healthSchema } },
        async (request, reply) => {
          const cache = caches.find((c) => c.id === request.params.id);
          if (!cache) return reply.code(404).send({ error: 'unknown_cache' });
          Object.assign(cache, request.body);
          return cache;
        },
      );
    },
  });
}
