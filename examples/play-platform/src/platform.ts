import { createGateway } from '@backlot/gateway';
import { CommandRegistry } from '@backlot/resilience';
import { createFilesystemStore, createKeyValueStore, createMemoryStore, type ObjectStore } from '@backlot/storage';
import { subscriberSchema, titleSchema } from './data/schemas.ts';
import { seedSubscribers, seedTitles } from './data/seed.ts';
import { edgeConfig, profileFromToken } from './edge/gateway-config.ts';
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
  /** Share of `/play` traffic for the canary Play API (default 10 %). */
  canaryPercent?: number;
  /** Rate limit per profile at the gateway. */
  rateLimit?: { capacity: number; refillPerSecond: number };
}

/** The platform behind the edge: microservices, data store, Play APIs, events. */
export interface PlatformCore {
  /** The Play APIs' own URLs (behind the gateway): v1 and its canary v2. */
  playApiUrls: { v1: string; v2: string };
  /** Each microservice by name, with its URL and chaos switch. */
  services: Record<keyof ServiceUrls, HttpService>;
  /** The commands' registry: metrics, circuit states. */
  registry: CommandRegistry;
  /** Events emitted so far, in order. */
  events: PlayEvent[];
  close(): Promise<void>;
}

/** A running Play platform: the core and one gateway in front of it. */
export interface Platform extends PlatformCore {
  /** The gateway's base URL, e.g. `http://127.0.0.1:8080`. */
  url: string;
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
 * Starts everything behind the edge: the six microservices on their data
 * store, and the Play API (v1 and its canary v2) behind its commands.
 */
export async function startCore(options: PlatformOptions = {}): Promise<PlatformCore> {
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
  const canaryRegistry = new CommandRegistry();
  const playApi = createPlayApi({ clients: createServiceClients(urls, registry), emit, version: 'v1' });
  const playApiCanary = createPlayApi({ clients: createServiceClients(urls, canaryRegistry), emit, version: 'v2' });
  const playApiUrls = {
    v1: `http://127.0.0.1:${(await playApi.listen()).port}`,
    v2: `http://127.0.0.1:${(await playApiCanary.listen()).port}`,
  };

  return {
    playApiUrls,
    services,
    registry,
    events,
    async close() {
      await Promise.all([playApi.close(), playApiCanary.close()]);
      await Promise.all(Object.values(services).map((service) => service.close()));
      registry.clear();
      canaryRegistry.clear();
    },
  };
}

/**
 * Starts the Play platform in one process: the core and one gateway in front
 * of it (the tests' and the library user's entry point; `npm start` runs
 * several gateway processes behind a load balancer instead).
 */
export async function startPlatform(options: PlatformOptions = {}): Promise<Platform> {
  const core = await startCore(options);
  const { playApiUrls } = core;
  const gateway = createGateway(
    edgeConfig({
      playApi: playApiUrls.v1,
      playApiCanary: playApiUrls.v2,
      port: options.port ?? 0,
      ...(options.canaryPercent === undefined ? {} : { canaryPercent: options.canaryPercent }),
      ...(options.rateLimit ? { rateLimit: options.rateLimit } : {}),
    }),
    { filters: [profileFromToken] },
  );
  const edge = await gateway.listen();
  return {
    ...core,
    url: `http://127.0.0.1:${edge.port}`,
    async close() {
      await gateway.close();
      await core.close();
    },
  };
}
