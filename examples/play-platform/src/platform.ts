import type { EventEnvelope } from '@backlot/events';
import { createGateway } from '@backlot/gateway';
import { createMemoryStore } from '@backlot/storage';
import { seedTitles } from './catalog-data.ts';
import { createPlayApi } from './play-api/server.ts';

/** A running Play platform: its public URL and how to stop it. */
export interface Platform {
  /** The gateway's base URL, e.g. `http://127.0.0.1:8080`. */
  url: string;
  /** Events emitted so far, in order. */
  events: EventEnvelope[];
  close(): Promise<void>;
}

/**
 * Starts the Play platform on embedded defaults: a memory store seeded with
 * titles, the Play API, and the gateway in front of it.
 */
export async function startPlatform({ port = 0 }: { port?: number } = {}): Promise<Platform> {
  const store = createMemoryStore();
  for (const title of seedTitles) {
    await store.put(`titles/${title.id}.json`, JSON.stringify(title), { contentType: 'application/json' });
  }
  const events: EventEnvelope[] = [];
  const playApi = createPlayApi({ store, emit: (event) => events.push(event) });
  const api = await playApi.listen();

  const gateway = createGateway({
    routes: [{ id: 'play-api', pathPrefix: '/play', origin: `http://127.0.0.1:${api.port}` }],
  });
  const edge = await gateway.listen({ port });
  return {
    url: `http://127.0.0.1:${edge.port}`,
    events,
    async close() {
      await gateway.close();
      await playApi.close();
    },
  };
}
