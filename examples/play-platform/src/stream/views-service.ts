import type { KeyValueStore } from '@backlot/storage';
import { createHttpService, type HttpService } from '../lib/http-service.ts';
import { continueWatchingSchema, trendingSchema } from './views.ts';

/** `views`: serves what the stream processor computed — trending per country, continue-watching per profile. */
export function createViewsService(kv: KeyValueStore): HttpService {
  const trending = kv.namespace('trending', trendingSchema);
  const rows = kv.namespace('continue-watching', continueWatchingSchema);
  return createHttpService('views', [
    {
      method: 'GET',
      path: '/trending/:country',
      async handle({ params, signal }) {
        const item = await trending.get(params.country as string, { signal });
        return {
          status: 200,
          body: item?.value ?? { country: params.country, windowStart: 0, windowEnd: 0, titles: [] },
        };
      },
    },
    {
      method: 'GET',
      path: '/continue-watching/:profileId',
      async handle({ params, signal }) {
        const item = await rows.get(params.profileId as string, { signal });
        return { status: 200, body: item?.value ?? { profileId: params.profileId, titles: [] } };
      },
    },
  ]);
}
