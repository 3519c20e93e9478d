import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { EventEnvelope } from '@backlot/events';
import { withTimeout } from '@backlot/resilience';
import { isNotFoundError, type ObjectStore } from '@backlot/storage';
import { z } from 'zod';
import type { Title } from '../catalog-data.ts';
import { playEvents } from '../events.ts';

const playRequest = z.object({
  profileId: z.string({ error: 'profileId is required' }).min(1),
  titleId: z.string({ error: 'titleId is required' }).min(1),
  device: z.string({ error: 'device is required, e.g. "tv"' }).min(1),
});

/** Dependencies of the Play API. */
export interface PlayApiDeps {
  /** Where titles live (`titles/<id>.json`). */
  store: ObjectStore;
  /** Receives every event the API emits. */
  emit: (event: EventEnvelope) => void;
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  const json = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) });
  res.end(json);
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
}

/** The Play API: `POST /play` answers with a playback context for a title. */
export function createPlayApi({ store, emit }: PlayApiDeps): {
  listen(port?: number): Promise<AddressInfo>;
  close(): Promise<void>;
} {
  const server: Server = createServer(async (req, res) => {
    if (req.method !== 'POST' || req.url !== '/play') return reply(res, 404, { error: 'not_found' });
    let body: unknown;
    try {
      body = await readJson(req);
    } catch {
      return reply(res, 400, { error: 'bad_request', message: 'body must be JSON' });
    }
    const parsed = playRequest.safeParse(body);
    if (!parsed.success) return reply(res, 400, { error: 'bad_request', message: z.prettifyError(parsed.error) });
    const { profileId, titleId, device } = parsed.data;

    try {
      const object = await withTimeout((signal) => store.get(`titles/${titleId}.json`, { signal }), { timeoutMs: 500 });
      const title = JSON.parse(object.body.toString('utf8')) as Title;
      const traceId = typeof req.headers['x-request-id'] === 'string' ? req.headers['x-request-id'] : undefined;
      emit(playEvents.envelope('play.started', { profileId, titleId, device }, { source: 'play-api', traceId }));
      reply(res, 200, { titleId, name: title.name, maturity: title.maturity, device });
    } catch (error) {
      if (isNotFoundError(error)) return reply(res, 404, { error: 'unknown_title', message: `no title ${titleId}` });
      reply(res, 503, { error: 'unavailable', message: (error as Error).message });
    }
  });

  return {
    listen: (port = 0) =>
      new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve(server.address() as AddressInfo))),
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}
