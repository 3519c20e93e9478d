import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isBadRequestError, runInRequestContext } from '@backlot/resilience';
import { z } from 'zod';
import { type PlayEvent, playEvents } from '../events.ts';
import { ServiceRejection } from '../lib/service-client.ts';
import type { ServiceClients } from './clients.ts';
import { LicenseUnavailable, PlaybackRefused, play } from './play.ts';
import { withTrace } from './trace.ts';

const playRequest = z.object({
  profileId: z.string({ error: 'profileId is required' }).min(1),
  titleId: z.string({ error: 'titleId is required' }).min(1),
  device: z.enum(['tv', 'web', 'mobile', 'tablet'], { error: 'device must be one of tv, web, mobile, tablet' }),
});

/** Dependencies of the Play API. */
export interface PlayApiDeps {
  clients: ServiceClients;
  /** Receives every event the API emits; must not block. */
  emit: (event: PlayEvent) => void;
  /** Reported in answers, to tell the canary apart. */
  version: string;
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

/** Maps a failed Play request to what the client sees. */
function failure(error: unknown): [number, Record<string, string>] {
  if (error instanceof PlaybackRefused) return [error.status, { error: error.reason, message: error.message }];
  if (error instanceof ServiceRejection) {
    const status = error.status === 409 ? 409 : error.status === 404 ? 404 : 400;
    return [status, { error: `${error.service}_rejected`, message: error.message }];
  }
  if (error instanceof LicenseUnavailable) return [503, { error: 'license_unavailable', message: error.message }];
  if (isBadRequestError(error)) return [400, { error: 'bad_request', message: (error as Error).message }];
  return [503, { error: 'unavailable', message: (error as Error).message }];
}

/** The Play API: `POST /play` answers with a playback context. */
export function createPlayApi({ clients, emit, version }: PlayApiDeps): {
  listen(port?: number): Promise<AddressInfo>;
  close(): Promise<void>;
} {
  const server: Server = createServer(async (req, res) => {
    const gone = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) gone.abort();
    });
    if (req.method === 'GET' && req.url === '/health') return reply(res, 200, { status: 'up', version });
    if (req.method !== 'POST' || req.url !== '/play') return reply(res, 404, { error: 'not_found' });
    let body: unknown;
    try {
      body = await readJson(req);
    } catch {
      return reply(res, 400, { error: 'bad_request', message: 'body must be JSON' });
    }
    const parsed = playRequest.safeParse(body);
    if (!parsed.success) return reply(res, 400, { error: 'bad_request', message: z.prettifyError(parsed.error) });
    const request = parsed.data;
    // Behind the gateway, the verified token names the profile: nobody plays as someone else.
    const authenticated = req.headers['x-profile-id'];
    if (typeof authenticated === 'string' && authenticated !== request.profileId) {
      return reply(res, 403, {
        error: 'wrong_profile',
        message: `the token is for ${authenticated}, not ${request.profileId}`,
      });
    }
    const requestId = typeof req.headers['x-request-id'] === 'string' ? req.headers['x-request-id'] : undefined;

    try {
      // Every command below gets the request's signal (a client that leaves stops the work) and its cache.
      const { result, trace } = await runInRequestContext(() => withTrace(() => play(clients, request)), {
        signal: gone.signal,
      });
      emit(
        playEvents.envelope(
          'playback.started',
          {
            profileId: request.profileId,
            titleId: request.titleId,
            device: request.device,
            country: result.country,
            sessionId: result.license.sessionId,
            resumePositionMs: result.resumePositionMs,
          },
          { source: `play-api-${version}`, traceId: requestId },
        ),
      );
      reply(res, 200, { ...result, version, trace });
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
