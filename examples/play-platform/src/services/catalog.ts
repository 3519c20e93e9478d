import type { KeyValueStore } from '@backlot/storage';
import { z } from 'zod';
import { titleSchema } from '../data/schemas.ts';
import { createService, type Service, type ServiceConfig } from '../http/service.ts';
import { storeReadiness } from './readiness.ts';

const batchSchema = z.object({ ids: z.array(z.string().min(1)).min(1).max(100) });

/** `catalog`: title metadata and rights windows, one at a time or in batches. */
export function createCatalogService(kv: KeyValueStore, config?: Partial<ServiceConfig>): Service {
  const titles = kv.namespace('titles', titleSchema);
  return createService({
    name: 'catalog',
    ...(config ? { config } : {}),
    readiness: [storeReadiness(kv)],
    routes(app) {
      app.get('/titles/:id', { schema: { params: z.object({ id: z.string().min(1) }) } }, async (request, reply) => {
        const item = await titles.get(request.params.id, { signal: request.clientGone });
        return item ? item.value : reply.code(404).send({ error: 'unknown_title' });
      });
      // Batch lookup, for the Play API's request collapser: missing ids come back as null.
      app.post('/titles/batch', { schema: { body: batchSchema } }, async (request) => {
        const items = await Promise.all(request.body.ids.map((id) => titles.get(id, { signal: request.clientGone })));
        return { titles: items.map((item) => item?.value ?? null) };
      });
    },
  });
}
