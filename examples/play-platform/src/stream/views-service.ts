import type { KeyValueStore } from '@backlot/storage';
import { z } from 'zod';
import { createService, type Service, type ServiceConfig } from '../http/service.ts';
import { storeReadiness } from '../services/readiness.ts';
import { rowViewingHistory, type ViewingHistory } from './viewing-history.ts';
import { trendingSchema } from './views.ts';

/**
 * `views`: serves what the stream processor computed — trending per country
 * (from `kv`), continue-watching per profile (from `history`, by default a row
 * per profile in `kv`).
 */
export function createViewsService(
  kv: KeyValueStore,
  config?: Partial<ServiceConfig>,
  history: ViewingHistory = rowViewingHistory(kv),
): Service {
  const trending = kv.namespace('trending', trendingSchema);
  return createService({
    name: 'views',
    ...(config ? { config } : {}),
    readiness: [storeReadiness(kv), ...(history.readiness ? [history.readiness] : [])],
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
        (request) => history.continueWatching(request.params.profileId, request.clientGone),
      );
    },
  });
}
