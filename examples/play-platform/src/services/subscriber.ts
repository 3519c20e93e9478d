import type { KeyValueStore } from '@backlot/storage';
import { subscriberSchema } from '../data/schemas.ts';
import { createHttpService, type HttpService } from '../lib/http-service.ts';

/** `subscriber`: a profile's plan, country, stream limit and maturity. */
export function createSubscriberService(kv: KeyValueStore): HttpService {
  const subscribers = kv.namespace('subscribers', subscriberSchema);
  return createHttpService('subscriber', [
    {
      method: 'GET',
      path: '/subscribers/:profileId',
      async handle({ params, signal }) {
        const item = await subscribers.get(params.profileId as string, { signal });
        return item ? { status: 200, body: item.value } : { status: 404, body: { error: 'unknown_profile' } };
      },
    },
  ]);
}
