import type { KeyValueStore } from '@backlot/storage';
import { z } from 'zod';
import { bookmarkSchema } from '../data/schemas.ts';
import { createService, type Service, type ServiceConfig } from '../http/service.ts';
import { storeReadiness } from './readiness.ts';

const params = z.object({ profileId: z.string().min(1), titleId: z.string().min(1) });
const putSchema = z.object({ positionMs: z.number().int().min(0) });

/** `bookmarks`: resume positions per profile and title. */
export function createBookmarksService(
  kv: KeyValueStore,
  onUpdate?: (bookmark: z.infer<typeof bookmarkSchema>) => void,
  config?: Partial<ServiceConfig>,
): Service {
  const bookmarks = kv.namespace('bookmarks', bookmarkSchema);
  const id = (profileId: string, titleId: string) => `${profileId}--${titleId}`;
  return createService({
    name: 'bookmarks',
    ...(config ? { config } : {}),
    readiness: [storeReadiness(kv)],
    routes(app) {
      app.get('/bookmarks/:profileId/:titleId', { schema: { params } }, async (request) => {
        const { profileId, titleId } = request.params;
        const item = await bookmarks.get(id(profileId, titleId), { signal: request.clientGone });
        return { positionMs: item?.value.positionMs ?? 0 };
      });
      app.put('/bookmarks/:profileId/:titleId', { schema: { params, body: putSchema } }, async (request) => {
        const bookmark = {
          ...request.params,
          positionMs: request.body.positionMs,
          updatedAt: new Date().toISOString(),
        };
        await bookmarks.put(id(bookmark.profileId, bookmark.titleId), bookmark, { signal: request.clientGone });
        onUpdate?.(bookmark);
        return bookmark;
      });
    },
  });
}
