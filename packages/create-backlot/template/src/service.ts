import type { EventProducer } from '@backlot/events';
import type { ObjectStore } from '@backlot/storage';
import { createKeyValueStore } from '@backlot/storage';
import { z } from 'zod';
import type { createCommands } from './commands.ts';
import type { ServiceEvents } from './events.ts';
import { createService, type Service, type ServiceConfig } from './http/service.ts';

const ratingSchema = z.object({
  profileId: z.string(),
  titleId: z.string(),
  rating: z.enum(['up', 'down']),
  at: z.string(),
});
const ids = z.object({ profileId: z.string().min(1).max(128), titleId: z.string().min(1).max(128) });

/** What the service needs: a store (any adapter), an event producer, its commands, its HTTP settings. */
export interface ServiceDeps {
  store: ObjectStore;
  events: Pick<EventProducer<ServiceEvents>, 'emit'>;
  commands: ReturnType<typeof createCommands>;
  config?: Partial<ServiceConfig>;
}

/**
 * The service: ratings (thumbs up/down) per profile and title, on fastify
 * (see `http/service.ts` for validation, logs, `/health`, `/ready`,
 * `/metrics`, chaos and drain).
 *
 *   PUT /ratings/:profileId/:titleId  { "rating": "up" }   stores it, emits rating.set
 *   GET /ratings/:profileId/:titleId                       the stored rating
 *   GET /titles/:titleId/summary?profileId=…               the title's name (from the catalog) and the rating
 */
export function createRatingsService({ store, events, commands, config }: ServiceDeps): Service {
  const kv = createKeyValueStore({ store });
  const ratings = kv.namespace('ratings', ratingSchema);
  const key = (profileId: string, titleId: string) => `${profileId}--${titleId}`;
  return createService({
    name: 'ratings',
    ...(config ? { config } : {}),
    // Ready when the store answers a read (a missing key is an answer).
    readiness: [{ name: 'store', check: (signal) => ratings.get('readiness-probe', { signal }) }],
    routes(app) {
      app.put(
        '/ratings/:profileId/:titleId',
        { schema: { params: ids, body: z.object({ rating: z.enum(['up', 'down']) }) } },
        async (request) => {
          const { profileId, titleId } = request.params;
          const record = { profileId, titleId, rating: request.body.rating, at: new Date().toISOString() };
          await ratings.put(key(profileId, titleId), record, { signal: request.clientGone });
          events.emit('rating.set', { profileId, titleId, rating: record.rating });
          return record;
        },
      );
      app.get('/ratings/:profileId/:titleId', { schema: { params: ids } }, async (request, reply) => {
        const { profileId, titleId } = request.params;
        const item = await ratings.get(key(profileId, titleId), { signal: request.clientGone });
        return item ? item.value : reply.code(404).send({ error: 'no_rating', message: 'no rating yet' });
      });
      app.get(
        '/titles/:titleId/summary',
        {
          schema: {
            params: ids.pick({ titleId: true }),
            querystring: z.object({ profileId: z.string().min(1).max(128).optional() }),
          },
        },
        async (request) => {
          const { titleId } = request.params;
          const { profileId } = request.query;
          const [name, item] = await Promise.all([
            commands.getTitleName(titleId),
            profileId ? ratings.get(key(profileId, titleId), { signal: request.clientGone }) : undefined,
          ]);
          return { titleId, name, rating: item?.value.rating ?? null };
        },
      );
    },
  });
}
