import type { KeyValueStore } from '@backlot/storage';
import { z } from 'zod';
import { bookmarkSchema } from '../data/schemas.ts';
import { createHttpService, type HttpService, parse } from '../lib/http-service.ts';

const putSchema = z.object({ positionMs: z.number().int().min(0) });

/** `bookmarks`: resume positions per profile and title. */
export function createBookmarksService(
  kv: KeyValueStore,
  onUpdate?: (bookmark: z.infer<typeof bookmarkSchema>) => void,
): HttpService {
  const bookmarks = kv.namespace('bookmarks', bookmarkSchema);
  const id = (profileId: string, titleId: string) => `${profileId}--${titleId}`;
  return createHttpService('bookmarks', [
    {
      method: 'GET',
      path: '/bookmarks/:profileId/:titleId',
      async handle({ params, signal }) {
        const item = await bookmarks.get(id(params.profileId as string, params.titleId as string), { signal });
        return { status: 200, body: { positionMs: item?.value.positionMs ?? 0 } };
      },
    },
    {
      method: 'PUT',
      path: '/bookmarks/:profileId/:titleId',
      async handle({ params, body, signal }) {
        const { positionMs } = parse(putSchema, body);
        const bookmark = {
          profileId: params.profileId as string,
          titleId: params.titleId as string,
          positionMs,
          updatedAt: new Date().toISOString(),
        };
        await bookmarks.put(id(bookmark.profileId, bookmark.titleId), bookmark, { signal });
        onUpdate?.(bookmark);
        return { status: 200, body: bookmark };
      },
    },
  ]);
}
