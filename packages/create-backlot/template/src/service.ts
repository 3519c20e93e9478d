import type { EventProducer } from '@backlot/events';
import type { ObjectStore } from '@backlot/storage';
import { createKeyValueStore } from '@backlot/storage';
import { z } from 'zod';
import type { createCommands } from './commands.ts';
import type { ServiceEvents } from './events.ts';
import { createHttpService, type HttpService, parse } from './lib/http-service.ts';

const ratingSchema = z.object({
  profileId: z.string(),
  titleId: z.string(),
  rating: z.enum(['up', 'down']),
  at: z.string(),
});

/** What the service needs: a store (any adapter), an event producer, its commands. */
export interface ServiceDeps {
  store: ObjectStore;
  events: Pick<EventProducer<ServiceEvents>, 'emit'>;
  commands: ReturnType<typeof createCommands>;
}

/**
 * The service: ratings (thumbs up/down) per profile and title.
 *
 *   PUT /ratings/:profileId/:titleId  { "rating": "up" }   stores it, emits rating.set
 *   GET /ratings/:profileId/:titleId                       the stored rating
 *   GET /titles/:titleId/summary?profileId=…               the title's name (from the catalog) and the rating
 */
export function createService({ store, events, commands }: ServiceDeps): HttpService {
  const ratings = createKeyValueStore({ store }).namespace('ratings', ratingSchema);
  const id = (profileId: string, titleId: string) => `${profileId}--${titleId}`;
  return createHttpService('ratings', [
    {
      method: 'PUT',
      path: '/ratings/:profileId/:titleId',
      async handle({ params, body, signal }) {
        const { rating } = parse(z.object({ rating: z.enum(['up', 'down']) }), body);
        const record = {
          profileId: params.profileId as string,
          titleId: params.titleId as string,
          rating,
          at: new Date().toISOString(),
        };
        await ratings.put(id(record.profileId, record.titleId), record, { signal });
        events.emit('rating.set', { profileId: record.profileId, titleId: record.titleId, rating });
        return { status: 200, body: record };
      },
    },
    {
      method: 'GET',
      path: '/ratings/:profileId/:titleId',
      async handle({ params, signal }) {
        const item = await ratings.get(id(params.profileId as string, params.titleId as string), { signal });
        return item ? { status: 200, body: item.value } : { status: 404, body: { error: 'no_rating' } };
      },
    },
    {
      method: 'GET',
      path: '/titles/:titleId/summary',
      async handle({ params, query, signal }) {
        const titleId = params.titleId as string;
        const profileId = query.get('profileId');
        const [name, item] = await Promise.all([
          commands.getTitleName(titleId),
          profileId ? ratings.get(id(profileId, titleId), { signal }) : Promise.resolve(undefined),
        ]);
        return { status: 200, body: { titleId, name, rating: item?.value.rating ?? null } };
      },
    },
  ]);
}
