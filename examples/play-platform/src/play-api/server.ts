import { isBadRequestError, runInRequestContext } from '@backlot/resilience';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Emit } from '../events.ts';
import { createService, type ReadinessCheck, type Service, type ServiceConfig } from '../http/service.ts';
import { requestIds, ServiceRejection } from '../lib/service-client.ts';
import { type AdmissionOptions, createAdmission, Overloaded } from './admission.ts';
import type { ServiceClients } from './clients.ts';
import { LicenseUnavailable, PlaybackRefused, play } from './play.ts';
import { step, withTrace } from './trace.ts';

const device = z.enum(['tv', 'web', 'mobile', 'tablet'], { error: 'device must be one of tv, web, mobile, tablet' });
const playRequest = z.object({
  profileId: z.string({ error: 'profileId is required' }).min(1),
  titleId: z.string({ error: 'titleId is required' }).min(1),
  device,
});
const progressRequest = z.object({
  profileId: z.string({ error: 'profileId is required' }).min(1),
  titleId: z.string({ error: 'titleId is required' }).min(1),
  sessionId: z.string({ error: 'sessionId is required (from the play answer)' }).min(1),
  positionMs: z.number({ error: 'positionMs is required' }).int().min(0),
});
const browseQuery = z.object({ profileId: z.string().min(1).optional(), country: z.string().length(2).default('US') });

/** Dependencies of the Play API. */
export interface PlayApiDeps {
  clients: ServiceClients;
  /** Emits an event; never blocks the response. */
  emit: Emit;
  /** Reported in answers, to tell the canary apart. */
  version: string;
  /** How many plays and browses run at once, and how long the others wait (see `admission.ts`). */
  admission?: AdmissionOptions;
  /** Port, log level, drain deadline, chaos token (see `http/config.ts`). */
  config?: Partial<ServiceConfig>;
  /**
   * What `/ready` checks besides draining (default none: the microservices are
   * behind commands with fallbacks, so one of them down must not take every
   * Play API out of the gateway's rotation).
   */
  readiness?: ReadinessCheck[];
}

/** Maps a failed request to what the client sees. */
function failure(error: unknown): [number, Record<string, string>] {
  if (error instanceof PlaybackRefused) return [error.status, { error: error.reason, message: error.message }];
  if (error instanceof ServiceRejection) {
    const status = error.status === 409 ? 409 : error.status === 404 ? 404 : 400;
    return [status, { error: `${error.service}_rejected`, message: error.message }];
  }
  if (error instanceof Overloaded) return [503, { error: error.code, message: error.message }];
  if (error instanceof LicenseUnavailable) return [503, { error: 'license_unavailable', message: error.message }];
  if (isBadRequestError(error)) return [400, { error: 'bad_request', message: (error as Error).message }];
  return [503, { error: 'unavailable', message: (error as Error).message }];
}

/** Behind the gateway, the verified token names the profile (`x-profile-id`): nobody acts as someone else. */
function authenticatedProfile(request: FastifyRequest): string | undefined {
  const header = request.headers['x-profile-id'];
  return typeof header === 'string' ? header : undefined;
}

function wrongProfile(request: FastifyRequest, reply: FastifyReply, profileId: string): boolean {
  const authenticated = authenticatedProfile(request);
  if (authenticated === undefined || authenticated === profileId) return false;
  reply.code(403).send({ error: 'wrong_profile', message: `the token is for ${authenticated}, not ${profileId}` });
  return true;
}

/**
 * The Play API: `POST /play` answers a playback context; `POST /play/heartbeat`
 * and `POST /play/stop` report progress; `GET /browse` answers the rows.
 * Built on `createService` (validation, logs, health, readiness, metrics, drain).
 */
export function createPlayApi(deps: PlayApiDeps): Service {
  const { clients, emit, version } = deps;
  const admission = createAdmission(deps.admission);
  // Every command below gets the request's signal (a client that leaves stops the work), its cache,
  // and its id (sent on to the microservices, so one id is in every service's log lines).
  const inRequest = <T>(request: FastifyRequest, work: () => Promise<T>) =>
    admission.run(
      () =>
        requestIds.run(request.id, () => runInRequestContext(() => withTrace(work), { signal: request.clientGone })),
      request.clientGone,
    );
  const failed = (request: FastifyRequest, reply: FastifyReply, error: unknown) => {
    const [status, answer] = failure(error);
    return reply.code(status).send({ ...answer, version, requestId: request.id });
  };

  return createService({
    name: `play-api-${version}`,
    ...(deps.config ? { config: deps.config } : {}),
    ...(deps.readiness ? { readiness: deps.readiness } : {}),
    routes(app) {
      app.post('/play', { schema: { body: playRequest } }, async (request, reply) => {
        const body = request.body;
        if (wrongProfile(request, reply, body.profileId)) return reply;
        try {
          const { result, trace } = await inRequest(request, () => play(clients, body));
          emit(
            'playback.started',
            {
              profileId: body.profileId,
              titleId: body.titleId,
              device: body.device,
              country: result.country,
              sessionId: result.license.sessionId,
              resumePositionMs: result.resumePositionMs,
              resumed: result.resumePositionMs > 0,
            },
            { traceId: request.id },
          );
          return { ...result, version, trace };
        } catch (error) {
          return failed(request, reply, error);
        }
      });

      for (const stop of [false, true]) {
        app.post(
          stop ? '/play/stop' : '/play/heartbeat',
          { schema: { body: progressRequest } },
          async (request, reply) => {
            const progress = request.body;
            if (wrongProfile(request, reply, progress.profileId)) return reply;
            emit(stop ? 'playback.stopped' : 'playback.heartbeat', progress, { traceId: request.id });
            if (!stop) return { ok: true };
            try {
              await Promise.all([
                clients.releaseSession(progress.profileId, progress.sessionId),
                clients.saveBookmark(progress.profileId, progress.titleId, progress.positionMs),
              ]);
              return { ok: true };
            } catch (error) {
              return failed(request, reply, error);
            }
          },
        );
      }

      app.get('/browse', { schema: { querystring: browseQuery } }, async (request, reply) => {
        const profileId = request.query.profileId ?? authenticatedProfile(request);
        if (profileId === undefined) {
          return reply.code(400).send({
            error: 'bad_request',
            message: 'querystring.profileId: profileId is required',
            issues: [{ field: 'querystring.profileId', message: 'profileId is required' }],
          });
        }
        if (wrongProfile(request, reply, profileId)) return reply;
        const { country } = request.query;
        try {
          const { result, trace } = await inRequest(request, async () => {
            const [trending, continueWatching] = await Promise.all([
              step('views', (probe) => clients.getTrending(probe, country)),
              step('views', (probe) => clients.getContinueWatching(probe, profileId)),
            ]);
            return { trending: trending.titles, continueWatching: continueWatching.titles };
          });
          const shown = [...result.trending.map((t) => t.titleId), ...result.continueWatching.map((t) => t.titleId)];
          if (shown.length > 0)
            emit('impression', { profileId, titleIds: shown, row: 'browse' }, { traceId: request.id });
          return { ...result, country, version, trace };
        } catch (error) {
          return failed(request, reply, error);
        }
      });
    },
  });
}
