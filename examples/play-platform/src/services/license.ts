import { randomUUID } from 'node:crypto';
import type { KeyValueStore } from '@backlot/storage';
import { z } from 'zod';
import { activeStreamsSchema, type License } from '../data/schemas.ts';
import { createHttpService, type HttpService, parse } from '../lib/http-service.ts';

const requestSchema = z.object({
  profileId: z.string().min(1),
  titleId: z.string().min(1),
  device: z.string().min(1),
  streamLimit: z.number().int().min(1),
});
const SESSION_MS = 4 * 60 * 60 * 1000;

/**
 * `license`: issues a DRM licence after checking the profile's concurrent
 * streams (one per device) against its plan's limit. The check-and-add is one optimistic
 * update on the key-value store, so two devices racing for the last slot
 * cannot both get it.
 */
export function createLicenseService(kv: KeyValueStore): HttpService {
  const active = kv.namespace('active-streams', activeStreamsSchema);
  return createHttpService('license', [
    {
      method: 'POST',
      path: '/licenses',
      async handle({ body, signal }) {
        const { profileId, titleId, device, streamLimit } = parse(requestSchema, body);
        const sessionId = randomUUID();
        const now = Date.now();
        let refused = false;
        await active.update(
          profileId,
          (current) => {
            // A new play on a device replaces that device's previous stream.
            const streams = (current?.streams ?? []).filter((s) => s.expiresAt > now && s.device !== device);
            refused = streams.length >= streamLimit;
            return {
              streams: refused ? streams : [...streams, { sessionId, titleId, device, expiresAt: now + SESSION_MS }],
            };
          },
          { signal, maxAttempts: 20 },
        );
        if (refused) {
          return {
            status: 409,
            body: { error: 'stream_limit', message: `profile plays ${streamLimit} stream(s) already` },
          };
        }
        const license: License = {
          licenseId: randomUUID(),
          sessionId,
          titleId,
          profileId,
          expiresAt: now + SESSION_MS,
          drm: 'widevine',
        };
        return { status: 200, body: license };
      },
    },
    {
      method: 'DELETE',
      path: '/sessions/:profileId/:sessionId',
      async handle({ params, signal }) {
        await active.update(
          params.profileId as string,
          (current) => ({ streams: (current?.streams ?? []).filter((s) => s.sessionId !== params.sessionId) }),
          { signal },
        );
        return { status: 200, body: { stopped: params.sessionId } };
      },
    },
  ]);
}
