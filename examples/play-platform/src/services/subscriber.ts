import type { KeyValueStore } from '@backlot/storage';
import { z } from 'zod';
import { subscriberSchema } from '../data/schemas.ts';
import { createService, type Service, type ServiceConfig } from '../http/service.ts';
import { storeReadiness } from './readiness.ts';

/** `subscriber`: a profile's plan, country, stream limit and maturity. */
export function createSubscriberService(kv: KeyValueStore, config?: Partial<ServiceConfig>): Service {
  const subscribers = kv.namespace('subscribers', subscriberSchema);
  return createService({
    name: 'subscriber',
    ...(config ? { config } : {}),
    readiness: [storeReadiness(kv)],
    routes(app) {
      app.get(
        '/subscribers/:profileId',
        { schema: { params: z.object({ profileId: z.string().min(1) }) } },
        async (request, reply) => {
          const item = await subscribers.get(request.params.profileId, { signal: request.clientGone });
          return item ? item.value : reply.code(404).send({ error: 'unknown_profile' });
        },
      );
    },
  });
}
