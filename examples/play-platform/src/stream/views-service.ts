import type { KeyValueStore } from '@backlot/storage';
import { z } from 'zod';
import { createService, type Service, type ServiceConfig } from '../http/service.ts';
import { storeReadiness } from '../services/readiness.ts';
import { continueWatchingSchema, trendingSchema } from './views.ts';

/** `views`: serves what the stream processor computed — trending per country, continue-watching per profile. */
export function createViewsService(kv: KeyValueStore, config?: Partial<ServiceConfig>): Service {
  const trending = kv.namespace('trending', trendingSchema);
  const rows = kv.namespace('continue-watching', continueWatchingSchema);
  return createService({
    name: 'views',
    ...(config ? { config } : {}),
    readiness: [storeReadiness(kv)],
    routes(app) {
      app.get(
        '/trending/:country',
        { schema: { params: z.object({ country: z.string().min(1) }) } },
        async (request) => {
          const { country } = request.params;
          const item = await trending.get(country, { signal: request.clientGone });
          return item?.value ?? { country, windowStart: 0, windowEnd: 0, titles: [] };
        },
      );
      app.get(
        '/continue-watching/:profileId',
        { schema: { params: z.object({ profileId: z.string().min(1) }) } },
        async (request) => {
          const { profileId } = request.params;
          const item = await rows.get(profileId, { signal: request.clientGone });
          return item?.value ?? { profileId, titles: [] };
        },
      );
    },
  });
}
