import { randomUUID } from 'node:crypto';
import type { KeyValueStore } from '@backlot/storage';
import { z } from 'zod';
import type { License } from '../../data/schemas.ts';
import { createHttpService, type HttpService, parse } from '../../lib/http-service.ts';
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
export function createLicenseService(kv: KeyValueStore, options: StreamLeasesOptions = {}): HttpService {
  const leases = createStreamLeases(kv, options);
  const contended = (error: unknown) =>
    error instanceof LeaseContention ? { status: 503, body: { error: error.code, message: error.message } } : undefined;
  return createHttpService('license', [
    {
      method: 'POST',
      path: '/licenses',
      async handle({ body, signal }) {
        const { profileId, titleId, device, streamLimit } = parse(requestSchema, body);
        try {
          const result = await leases.acquire({ profileId, titleId, device, limit: streamLimit }, signal);
          if (!result.granted) {
            return {
              status: 409,
              body: { error: 'stream_limit', message: `profile plays ${streamLimit} stream(s) already` },
            };
          }
          const license: License = {
            licenseId: randomUUID(),
            sessionId: result.lease.sessionId,
            titleId,
            profileId,
            expiresAt: result.lease.expiresAt,
            drm: 'widevine',
          };
          return { status: 200, body: license };
        } catch (error) {
          const answer = contended(error);
          if (answer) return answer;
          throw error;
        }
      },
    },
    {
      method: 'DELETE',
      path: '/sessions/:profileId/:sessionId',
      async handle({ params, signal }) {
        try {
          await leases.release(params.profileId as string, params.sessionId as string, signal);
        } catch (error) {
          const answer = contended(error);
          if (answer) return answer;
          throw error;
        }
        return { status: 200, body: { stopped: params.sessionId } };
      },
    },
  ]);
}
