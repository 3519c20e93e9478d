import type { KeyValueStore } from '@backlot/storage';
import { z } from 'zod';
import { titleSchema } from '../data/schemas.ts';
import { createHttpService, type HttpService, parse } from '../lib/http-service.ts';

const batchSchema = z.object({ ids: z.array(z.string().min(1)).min(1).max(100) });

/** `catalog`: title metadata and rights windows, one at a time or in batches. */
export function createCatalogService(kv: KeyValueStore): HttpService {
  const titles = kv.namespace('titles', titleSchema);
  return createHttpService('catalog', [
    {
      method: 'GET',
      path: '/titles/:id',
      async handle({ params, signal }) {
        const item = await titles.get(params.id as string, { signal });
        return item ? { status: 200, body: item.value } : { status: 404, body: { error: 'unknown_title' } };
      },
    },
    {
      // Batch lookup, for the Play API's request collapser: missing ids come back as null.
      method: 'POST',
      path: '/titles/batch',
      async handle({ body, signal }) {
        const { ids } = parse(batchSchema, body);
        const items = await Promise.all(ids.map((id) => titles.get(id, { signal })));
        return { status: 200, body: { titles: items.map((item) => item?.value ?? null) } };
      },
    },
  ]);
}
