import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isBadRequestError, runInRequestContext } from '@backlot/resilience';
import { z } from 'zod';
import type { Emit } from '../events.ts';
import { ServiceRejection } from '../lib/service-client.ts';
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
const browseQuery = z.object({ profileId: z.string().min(1), country: z.string().length(2).default('US') });

/** Dependencies of the Play API. */
export interface PlayApiDeps {
  clients: ServiceClients;
  /** Emits an event; never blocks the response. */
  emit: Emit;
  /** Reported in answers, to tell the canary apart. */
  version: string;
  /** How many plays and browses run at once, and how long the others wait (see `admission.ts`). */
  admission?: AdmissionOptions;
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent || res.destroyed) return;
  const json = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) });
  res.end(json);
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
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

/**
 * The Play API: `POST /play` answers a playback context; `POST /play/heartbeat`
 * and `POST /play/stop` report progress; `GET /browse` answers the rows.
 */
export function createPlayApi({ clients, emit, version, admission: admissionOptions }: PlayApiDeps): {
  listen(port?: number): Promise<AddressInfo>;
  close(): Promise<void>;
} {
  const admission = createAdmission(admissionOptions);
  const server: Server = createServer(async (req, res) => {
    const gone = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) gone.abort();
    });
    const url = new URL(req.url ?? '/', 'http://play-api');
    const route = `${req.method} ${url.pathname}`;
    const requestId = typeof req.headers['x-request-id'] === 'string' ? req.headers['x-request-id'] : undefined;
    // Behind the gateway, the verified token names the profile: nobody acts as someone else.
    const authenticated = typeof req.headers['x-profile-id'] === 'string' ? req.headers['x-profile-id'] : undefined;
    const checkProfile = (profileId: string) => {
      if (authenticated !== undefined && authenticated !== profileId) {
        reply(res, 403, { error: 'wrong_profile', message: `the token is for ${authenticated}, not ${profileId}` });
        return false;
      }
      return true;
    };
    const parseBody = async <T>(schema: z.ZodType<T>): Promise<T | undefined> => {
      let body: unknown;
      try {
        body = await readJson(req);
      } catch {
        reply(res, 400, { error: 'bad_request', message: 'body must be JSON' });
        return undefined;
      }
      const parsed = schema.safeParse(body);
      if (!parsed.success) {
        reply(res, 400, { error: 'bad_request', message: z.prettifyError(parsed.error) });
        return undefined;
      }
      return parsed.data;
    };

    try {
      if (route === 'GET /health') return reply(res, 200, { status: 'up', version });

      if (route === 'POST /play') {
        const request = await parseBody(playRequest);
        if (!request || !checkProfile(request.profileId)) return;
        // Every command below gets the request's signal (a client that leaves stops the work) and its cache.
        const { result, trace } = await admission.run(
          () => runInRequestContext(() => withTrace(() => play(clients, request)), { signal: gone.signal }),
          gone.signal,
        );
        emit(
          'playback.started',
          {
            profileId: request.profileId,
            titleId: request.titleId,
            device: request.device,
            country: result.country,
            sessionId: result.license.sessionId,
            resumePositionMs: result.resumePositionMs,
          },
          { traceId: requestId },
        );
        return reply(res, 200, { ...result, version, trace });
      }

      if (route === 'POST /play/heartbeat' || route === 'POST /play/stop') {
        const progress = await parseBody(progressRequest);
        if (!progress || !checkProfile(progress.profileId)) return;
        const stop = route === 'POST /play/stop';
        emit(stop ? 'playback.stopped' : 'playback.heartbeat', progress, { traceId: requestId });
        if (stop) {
          await Promise.all([
            clients.releaseSession(progress.profileId, progress.sessionId),
            clients.saveBookmark(progress.profileId, progress.titleId, progress.positionMs),
          ]);
        }
        return reply(res, 200, { ok: true });
      }

      if (route === 'GET /browse') {
        const query = browseQuery.safeParse({
          profileId: url.searchParams.get('profileId') ?? authenticated,
          country: url.searchParams.get('country') ?? undefined,
        });
        if (!query.success) return reply(res, 400, { error: 'bad_request', message: z.prettifyError(query.error) });
        if (!checkProfile(query.data.profileId)) return;
        const { profileId, country } = query.data;
        const { result, trace } = await admission.run(
          () =>
            runInRequestContext(
              () =>
                withTrace(async () => {
                  const [trending, continueWatching] = await Promise.all([
                    step('views', (probe) => clients.getTrending(probe, country)),
                    step('views', (probe) => clients.getContinueWatching(probe, profileId)),
                  ]);
                  return { trending: trending.titles, continueWatching: continueWatching.titles };
                }),
              { signal: gone.signal },
            ),
          gone.signal,
        );
        const shown = [...result.trending.map((t) => t.titleId), ...result.continueWatching.map((t) => t.titleId)];
        if (shown.length > 0) emit('impression', { profileId, titleIds: shown, row: 'browse' }, { traceId: requestId });
        return reply(res, 200, { ...result, country, version, trace });
      }

      reply(res, 404, { error: 'not_found' });
    } catch (error) {
      const [status, answer] = failure(error);
      reply(res, status, { ...answer, version, ...(requestId ? { requestId } : {}) });
    }
  });

  return {
    listen: (port = 0) =>
      new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve(server.address() as AddressInfo))),
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
