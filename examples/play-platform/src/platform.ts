import { createGateway } from '@backlot/gateway';
import { CommandRegistry } from '@backlot/resilience';
import { createFilesystemStore, createKeyValueStore, createMemoryStore, type ObjectStore } from '@backlot/storage';
import { subscriberSchema, titleSchema } from './data/schemas.ts';
import { seedSubscribers, seedTitles } from './data/seed.ts';
import type { PlayEvent } from './events.ts';
import type { HttpService } from './lib/http-service.ts';
import { createServiceClients, type ServiceUrls } from './play-api/clients.ts';
import { createPlayApi } from './play-api/server.ts';
import { createBookmarksService } from './services/bookmarks.ts';
import { createCatalogService } from './services/catalog.ts';
import { createLicenseService } from './services/license.ts';
import { createPlaybackDecisionService } from './services/playback-decision.ts';
import { createSteeringService } from './services/steering.ts';
import { createSubscriberService } from './services/subscriber.ts';

/** How to start the platform. */
export interface PlatformOptions {
  /** Gateway port (default: a free one). */
  port?: number;
  /** Folder of the embedded filesystem store; omit for an in-memory store. */
  dataDir?: string | undefined;
}

/** A running Play platform. */
export interface Platform {
  /** The gateway's base URL, e.g. `http://127.0.0.1:8080`. */
  url: string;
  /** The Play API's own URL (behind the gateway). */
  playApiUrl: string;
  /** Each microservice by name, with its URL and chaos switch. */
  services: Record<keyof ServiceUrls, HttpService>;
  /** The commands' registry: metrics, circuit states. */
  registry: CommandRegistry;
  /** Events emitted so far, in order. */
  events: PlayEvent[];
  close(): Promise<void>;
}

async function seed(store: ObjectStore): Promise<void> {
  const kv = createKeyValueStore({ store });
  const subscribers = kv.namespace('subscribers', subscriberSchema);
  const titles = kv.namespace('titles', titleSchema);
  await Promise.all([
    ...seedSubscribers.map((s) => subscribers.put(s.profileId, s)),
    ...seedTitles.map((t) => titles.put(t.id, t)),
  ]);
}

/**
 * Starts the Play platform: the six microservices on their data store, the
 * Play API behind its commands, and the gateway in front.
 */
export async function startPlatform(options: PlatformOptions = {}): Promise<Platform> {
  const store = options.dataDir ? createFilesystemStore({ root: options.dataDir }) : createMemoryStore();
  await seed(store);
  const kv = createKeyValueStore({ store });
  const events: PlayEvent[] = [];
  const emit = (event: PlayEvent) => {
    events.push(event);
  };

  const services = {
    subscriber: createSubscriberService(kv),
    catalog: createCatalogService(kv),
    bookmarks: createBookmarksService(kv),
    playbackDecision: createPlaybackDecisionService(),
    steering: createSteeringService(),
    license: createLicenseService(kv),
  };
  const urls = Object.fromEntries(
    await Promise.all(Object.entries(services).map(async ([name, service]) => [name, await service.listen()])),
  ) as ServiceUrls;

  const registry = new CommandRegistry();
  const playApi = createPlayApi({ clients: createServiceClients(urls, registry), emit, version: 'v1' });
  const api = await playApi.listen();

  const gateway = createGateway({
    routes: [{ id: 'play-api', pathPrefix: '/play', origin: `http://127.0.0.1:${api.port}` }],
  });
  const edge = await gateway.listen({ port: options.port ?? 0 });
  return {
    url: `http://127.0.0.1:${edge.port}`,
    playApiUrl: `http://127.0.0.1:${api.port}`,
    services,
    registry,
    events,
    async close() {
      await gateway.close();
      await playApi.close();
      await Promise.all(Object.values(services).map((service) => service.close()));
      registry.clear();
    },
  };
}
