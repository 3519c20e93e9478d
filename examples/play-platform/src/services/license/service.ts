import { randomUUID } from 'node:crypto';
import type { KeyValueStore } from '@backlot/storage';
import { z } from 'zod';
import type { License } from '../../data/schemas.ts';
import { createService, type Service, type ServiceConfig } from '../../http/service.ts';
import { storeReadiness } from '../readiness.ts';
import { createStreamLeases, LeaseContention, type StreamLeasesOptions } from './stream-leases.ts';

const requestSchema = z.object({
  profileId: z.string().min(1),
  titleId: z.string().min(1),
  device: z.string().min(1),
  streamLimit: z.number().int().min(1),
});

/**
 * `license`: issues a DRM licence after claiming one of the profile's stream
 * slots (one per device, up to its plan's limit; see `stream-leases.ts`), so
 * two devices racing for the last slot cannot both get it.
 */
export function createLicenseService(
  kv: KeyValueStore,
  options: StreamLeasesOptions = {},
  config?: Partial<ServiceConfig>,
): Service {
  const leases = createStreamLeases(kv, options);
  const contended = (error: unknown) => {
    if (error instanceof LeaseContention) return { error: error.code, message: error.message };
    throw error;
  };
  return createService({
    name: 'license',
    ...(config ? { config } : {}),
    readiness: [storeReadiness(kv)],
    routes(app) {
      app.post('/licenses', { schema: { body: requestSchema } }, async (request, reply) => {
        const { profileId, titleId, device, streamLimit } = request.body;
        try {
          const result = await leases.acquire({ profileId, titleId, device, limit: streamLimit }, request.clientGone);
          if (!result.granted) {
            return reply
              .code(409)
              .send({ error: 'stream_limit', message: `profile plays ${streamLimit} stream(s) already` });
          }
          const license: License = {
            licenseId: randomUUID(),
            sessionId: result.lease.sessionId,
            titleId,
            profileId,
            expiresAt: result.lease.expiresAt,
            drm: 'widevine',
          };
          return license;
        } catch (error) {
          return reply.code(503).send(contended(error));
        }
      });
      app.delete(
        '/sessions/:profileId/:sessionId',
        { schema: { params: z.object({ profileId: z.string().min(1), sessionId: z.string().min(1) }) } },
        async (request, reply) => {
          const { profileId, sessionId } = request.params;
          try {
            await leases.release(profileId, sessionId, request.clientGone);
          } catch (error) {
            return reply.code(503).send(contended(error));
          }
          return { stopped: sessionId };
        },
      );
    },
  });
}
