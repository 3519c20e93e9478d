import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, HeadBucketCommand, S3Client } from '@aws-sdk/client-s3';
import {
  createEventProducer,
  type EventProducer,
  embeddedLogTransport,
  kafkaCheckpoints,
  kafkaTransport,
  type Transport,
} from '@backlot/events';
import { createGateway, registerPrometheusMetrics } from '@backlot/gateway';
import { type CircuitBreakerOptions, CommandRegistry } from '@backlot/resilience';
import {
  createFilesystemStore,
  createKeyValueStore,
  createMemoryStore,
  createS3Store,
  type ObjectStore,
} from '@backlot/storage';
import { Registry } from 'prom-client';
import { type AdminServer, startAdminServer } from './admin/admin-server.ts';
import type { BrokerControl } from './admin/broker-control.ts';
import { type CassandraOptions, openCassandra } from './data/cassandra.ts';
import { subscriberSchema, titleSchema } from './data/schemas.ts';
import { allProfiles, seedTitles } from './data/seed.ts';
import { edgeConfig, profileFromToken } from './edge/gateway-config.ts';
import { type Emit, PLAY_TOPIC, type PlayEvent, playEvents } from './events.ts';
import type { Service, ServiceConfig } from './http/service.ts';
import { ensureTopics, playTopicSpec } from './kafka/topics.ts';
import { createServiceClients, type ServiceUrls } from './play-api/clients.ts';
import { createPlayApi } from './play-api/server.ts';
import { createBookmarksService } from './services/bookmarks.ts';
import { createCatalogService } from './services/catalog.ts';
import { createLicenseService } from './services/license/service.ts';
import { createPlaybackDecisionService } from './services/playback-decision.ts';
import { createSteeringService } from './services/steering.ts';
import { createSubscriberService } from './services/subscriber.ts';
import { startStreamProcessor, type TrendingWindow } from './stream/processor.ts';
import { rowViewingHistory, seriesViewingHistory } from './stream/viewing-history.ts';
import { createViewsService } from './stream/views-service.ts';
import type { TraceBuffer } from './tracing/trace-buffer.ts';

/** Real mode's S3: where objects and the stream's output go. */
export interface S3Options {
  endpoint?: string | undefined;
  bucket: string;
  region?: string | undefined;
  accessKeyId?: string | undefined;
  secretAccessKey?: string | undefined;
}

/** How to start the platform. */
export interface PlatformOptions {
  /** Gateway port (default: a free one). */
  port?: number;
  /** Folder of the embedded filesystem store and event log; omit for memory and a temp folder. */
  dataDir?: string | undefined;
  /** Real mode: events through these Kafka brokers instead of the embedded log. */
  kafkaBrokers?: string[] | undefined;
  /** Real mode: data and outputs in this S3 bucket (created if missing) instead of the embedded store. */
  s3?: S3Options | undefined;
  /**
   * Real mode: bookmarks, licences and viewing history in Cassandra (keyspace
   * and tables created if missing; continue-watching read from each profile's
   * viewing-history partition). Unreachable at start: `CassandraUnreachableError`.
   */
  cassandra?: CassandraOptions | undefined;
  /** Share of `/play` traffic for the canary Play API (default 10 %). */
  canaryPercent?: number;
  /** Rate limit per profile at the gateway. */
  rateLimit?: { capacity: number; refillPerSecond: number };
  /** The events topic (default `play-events`). */
  topic?: string | undefined;
  /** Real mode: partitions of the events topic when the platform creates it (default 1; an existing topic is left as it is). */
  topicPartitions?: number | undefined;
  /** Trending windows (default: 60 s windows every 10 s, 5 s lateness). */
  trendingWindow?: Partial<TrendingWindow>;
  /** Breaker settings of the Play API's commands (default Hystrix's: 20 calls, 50 %, 5 s sleep window). */
  circuitBreaker?: CircuitBreakerOptions;
  /**
   * The admin listener (dashboard, snapshot, chaos controls) on 127.0.0.1:
   * its port (default a free one), the chaos token (default random), and in
   * real mode the broker it may stop and start. `false`: none.
   */
  admin?: false | { port?: number; token?: string; broker?: BrokerControl | undefined };
  /**
   * Settings of every microservice and Play API (log level, drain deadline,
   * body limit, chaos token; see `http/config.ts`). Each listens on a free
   * port of 127.0.0.1. Default: quiet logs (`silent`), chaos over HTTP off.
   */
  http?: Partial<Omit<ServiceConfig, 'port' | 'host'>>;
  /**
   * Where the dashboard reads the latest plays' traces (`GET /api/traces`):
   * the buffer of the OpenTelemetry SDK the caller registered (`installTracing`
   * in `tracing/install.ts`). The platform registers no SDK itself.
   */
  traces?: TraceBuffer | undefined;
}

/** The platform behind the edge: microservices, data store, Play APIs, events, stream processor. */
export interface PlatformCore {
  /** The Play APIs' own URLs (behind the gateway): v1 and its canary v2. */
  playApiUrls: { v1: string; v2: string };
  /** Each microservice by name, with its URL and chaos switch. */
  services: Record<keyof ServiceUrls, Service>;
  /** The Play API's commands: metrics, circuit states. */
  registry: CommandRegistry;
  /** Where data, raw events and outputs are stored. */
  store: ObjectStore;
  /** Events emitted so far, in order (a tap on what the producers sent). */
  events: PlayEvent[];
  /** The producers' and the stream processor's metrics. */
  eventMetrics(): { producers: Record<string, ReturnType<EventProducer<never>['metrics']>>; pipeline: unknown };
  /** The admin listener: `admin.url` serves the dashboard (undefined with `admin: false`). */
  admin: AdminServer | undefined;
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
    ...allProfiles.map((s) => subscribers.put(s.profileId, s)),
    ...seedTitles.map((t) => titles.put(t.id, t)),
  ]);
}

async function openStore(options: PlatformOptions): Promise<ObjectStore> {
  if (options.s3) {
    const { bucket, endpoint, region = 'us-east-1', accessKeyId, secretAccessKey } = options.s3;
    const credentials = accessKeyId && secretAccessKey ? { accessKeyId, secretAccessKey } : undefined;
    const client = new S3Client({
      region,
      ...(endpoint ? { endpoint, forcePathStyle: true } : {}),
      ...(credentials ? { credentials } : {}),
    });
    try {
      await client.send(new HeadBucketCommand({ Bucket: bucket }));
    } catch {
      await client.send(new CreateBucketCommand({ Bucket: bucket }));
    }
    client.destroy();
    return createS3Store({
      bucket,
      ...(endpoint ? { endpoint, forcePathStyle: true } : {}),
      region,
      ...(credentials ? { credentials } : {}),
    });
  }
  return options.dataDir ? createFilesystemStore({ root: join(options.dataDir, 'store') }) : createMemoryStore();
}

/**
 * Starts everything behind the edge: the microservices on their data store,
 * the Play API (v1 and its canary v2) behind its commands, the event
 * producers and the stream processor.
 */
export async function startCore(options: PlatformOptions = {}): Promise<PlatformCore> {
  const topic = options.topic ?? PLAY_TOPIC;
  // What the start opened so far: close() releases it all, and so does a start step that fails.
  let cassandra: Awaited<ReturnType<typeof openCassandra>> | undefined;
  let temporaryDir: string | undefined;
  let processor: Awaited<ReturnType<typeof startStreamProcessor>> | undefined;
  let admin: AdminServer | undefined;
  const producers: Record<string, EventProducer<never>> = {};
  const servers: { close(): Promise<void> }[] = [];
  const apis: { close(): Promise<void> }[] = [];
  const registries: CommandRegistry[] = [];
  let closing: Promise<void> | undefined;
  /**
   * Releases what was started, the last started first: the listeners, then
   * the producers (they deliver or spool what was emitted), the processor
   * (it commits), the services, Cassandra, the temporary folder. Every step
   * runs even if one fails; the first failure is thrown at the end.
   */
  const close = () => {
    closing ??= (async () => {
      const failures: unknown[] = [];
      const step = async (work: () => Promise<unknown> | undefined) => {
        try {
          await work();
        } catch (error) {
          failures.push(error);
        }
      };
      await step(() => admin?.close());
      await step(() => Promise.all(apis.map((api) => api.close())));
      // Deliver what was emitted (or spool it), then let the processor commit and stop.
      await step(() => Promise.all(Object.values(producers).map((producer) => producer.close())));
      await step(() => processor?.close());
      await step(() => Promise.all(servers.map((service) => service.close())));
      for (const registry of registries) registry.clear();
      await step(() => cassandra?.store.close());
      await step(() => (temporaryDir ? rm(temporaryDir, { recursive: true, force: true }) : undefined));
      if (failures.length > 0) throw failures[0];
    })();
    return closing;
  };

  try {
    // Real mode's Cassandra first: an unreachable node stops the start before anything listens.
    cassandra = options.cassandra ? await openCassandra(options.cassandra) : undefined;
    // Real mode: the topic exists, with its documented partitions and retention, before anyone uses it.
    if (options.kafkaBrokers) {
      await ensureTopics(options.kafkaBrokers, [
        { ...playTopicSpec(topic), ...(options.topicPartitions ? { numPartitions: options.topicPartitions } : {}) },
      ]);
    }
    const store = await openStore(options);
    await seed(store);
    const kv = createKeyValueStore({ store });
    // Per-user state: bookmarks and licences in Cassandra in real mode, else beside the rest.
    const userKv = cassandra?.store ?? kv;
    const history = cassandra ? seriesViewingHistory(cassandra.history) : rowViewingHistory(kv);
    // Without a data folder, events live in a temporary folder that close() removes.
    temporaryDir = options.dataDir ? undefined : await mkdtemp(join(tmpdir(), 'play-events-'));
    const eventsDir = temporaryDir ?? join(options.dataDir as string, 'events');
    const transport = (clientId: string): Transport =>
      options.kafkaBrokers
        ? kafkaTransport({ brokers: options.kafkaBrokers, clientId })
        : embeddedLogTransport({ dir: join(eventsDir, 'log') });

    // One producer per emitting service, as if each ran in its own process.
    const events: PlayEvent[] = [];
    const emitterFor = (source: string): Emit => {
      const producer = createEventProducer({
        catalog: playEvents,
        source,
        transport: transport(source),
        topic,
        key: (event) => event.payload.profileId,
        spool: { dir: join(eventsDir, 'spool', source) },
      });
      producers[source] = producer as unknown as EventProducer<never>;
      return (name, payload, emitOptions) => {
        events.push(producer.emitEnvelope(name, payload, emitOptions) as PlayEvent);
      };
    };

    const bookmarksEmit = emitterFor('bookmarks');
    const http: Partial<ServiceConfig> = { logLevel: 'silent', ...options.http, port: 0, host: '127.0.0.1' };
    const services = {
      subscriber: createSubscriberService(kv, http),
      catalog: createCatalogService(kv, http),
      bookmarks: createBookmarksService(
        userKv,
        (bookmark) =>
          bookmarksEmit('bookmark.updated', {
            profileId: bookmark.profileId,
            titleId: bookmark.titleId,
            positionMs: bookmark.positionMs,
          }),
        http,
      ),
      playbackDecision: createPlaybackDecisionService(http),
      steering: createSteeringService(http),
      license: createLicenseService(userKv, {}, http),
      views: createViewsService(kv, http, history),
    };
    servers.push(...Object.values(services));
    const urls = Object.fromEntries(
      await Promise.all(Object.entries(services).map(async ([name, service]) => [name, await service.listen()])),
    ) as ServiceUrls;

    processor = await startStreamProcessor({
      transport: transport('stream-processor'),
      store,
      kv,
      history,
      topic,
      // Its own consumer group per topic: platforms on other topics of the same cluster never take its partitions.
      groupId: topic === PLAY_TOPIC ? 'play-stream-processor' : `play-stream-processor.${topic}`,
      ...(options.trendingWindow ? { window: options.trendingWindow } : {}),
      // Real mode: the trending windows are checkpointed on a changelog topic with the
      // offsets, so a restart (Ctrl-C, SIGKILL, a broker stop/start) never counts twice.
      ...(options.kafkaBrokers ? { checkpoints: kafkaCheckpoints({ brokers: options.kafkaBrokers }) } : {}),
    });
    const pipeline = processor;

    const registry = new CommandRegistry();
    const canaryRegistry = new CommandRegistry();
    registries.push(registry, canaryRegistry);
    const playApi = createPlayApi({
      clients: createServiceClients(urls, registry, undefined, options.circuitBreaker),
      emit: emitterFor('play-api-v1'),
      version: 'v1',
      config: http,
    });
    const playApiCanary = createPlayApi({
      clients: createServiceClients(urls, canaryRegistry, undefined, options.circuitBreaker),
      emit: emitterFor('play-api-v2'),
      version: 'v2',
      config: http,
    });
    apis.push(playApi, playApiCanary);
    const playApiUrls = {
      v1: await playApi.listen(),
      v2: await playApiCanary.listen(),
    };

    const eventMetrics = () => ({
      producers: Object.fromEntries(Object.entries(producers).map(([name, p]) => [name, p.metrics()])),
      pipeline: pipeline.metrics() as unknown,
    });
    admin =
      options.admin === false
        ? undefined
        : await startAdminServer(
            {
              registries: [
                { api: 'v1', registry },
                { api: 'v2', registry: canaryRegistry },
              ],
              services,
              eventMetrics,
              events,
              store,
              continueWatching: (profileId) => history.continueWatching(profileId),
              ...(options.traces ? { traces: options.traces } : {}),
              mode: {
                events: options.kafkaBrokers
                  ? `events on Kafka ${options.kafkaBrokers.join(',')}`
                  : 'events on the embedded log',
                data: `${
                  options.s3
                    ? `data in S3 bucket ${options.s3.bucket}`
                    : options.dataDir
                      ? `data in ${options.dataDir}`
                      : 'data in memory'
                }${cassandra ? `; bookmarks, licences, viewing history in Cassandra keyspace ${cassandra.keyspace}` : ''}`,
              },
            },
            options.admin ?? {},
          );

    return { playApiUrls, services, registry, store, events, eventMetrics, admin, close };
  } catch (error) {
    // A later step failed: release what the earlier ones opened (its own failure is secondary).
    await close().catch(() => {});
    throw error;
  }
}

/**
 * Starts the Play platform in one process: the core and one gateway in front
 * of it (the tests' and the library user's entry point; `npm start` runs
 * several gateway processes behind a load balancer instead).
 */
export async function startPlatform(options: PlatformOptions = {}): Promise<Platform> {
  const core = await startCore(options);
  const { playApiUrls } = core;
  let gateway: ReturnType<typeof createGateway> | undefined;
  try {
    const edgeGateway = createGateway(
      edgeConfig({
        playApi: playApiUrls.v1,
        playApiCanary: playApiUrls.v2,
        port: options.port ?? 0,
        ...(options.canaryPercent === undefined ? {} : { canaryPercent: options.canaryPercent }),
        ...(options.rateLimit ? { rateLimit: options.rateLimit } : {}),
      }),
      { filters: [profileFromToken] },
    );
    gateway = edgeGateway;
    const edge = await edgeGateway.listen();
    // The dashboard reads the gateway's families as a fleet's admin /metrics serves them.
    const gatewayRegistry = new Registry();
    registerPrometheusMetrics(gatewayRegistry, { gateways: [edgeGateway], commands: false });
    core.admin?.setEdge({
      kind: 'gateway',
      gateways: async () => [{ name: 'gateway', up: true, metrics: await gatewayRegistry.metrics() }],
    });
    return {
      ...core,
      url: `http://127.0.0.1:${edge.port}`,
      async close() {
        await edgeGateway.close();
        await core.close();
      },
    };
  } catch (error) {
    // The gateway did not start (its port is taken, say): release it and the core.
    await gateway?.close().catch(() => {});
    await core.close().catch(() => {});
    throw error;
  }
}
