import type { CallOptions, DeleteManyResult, ObjectStore } from './types.js';

/**
 * `deleteMany` for stores without a batch delete: deletes the keys one by
 * one, in order, through the store's own `delete` (so each key is validated
 * and a missing key counts as deleted, as on S3).
 */
export async function deleteOneByOne(
  store: Pick<ObjectStore, 'delete'>,
  keys: Iterable<string> | AsyncIterable<string>,
  options?: CallOptions,
): Promise<DeleteManyResult> {
  let deleted = 0;
  for await (const key of keys) {
    await store.delete(key, options);
    deleted++;
  }
  return { deleted, failed: [] };
}
