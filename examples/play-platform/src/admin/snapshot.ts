import type { PipelineMetrics, ProducerMetrics } from '@backlot/events';
import type { CircuitState, CommandRegistry } from '@backlot/resilience';
import { createKeyValueStore, type ObjectStore } from '@backlot/storage';
import { seedSubscribers, seedTitles } from '../data/seed.ts';
import type { PlayEvent } from '../events.ts';
import type { Chaos } from '../http/chaos.ts';
import type { Service } from '../http/service.ts';
import { rowViewingHistory } from '../stream/viewing-history.ts';
import { type ContinueWatching, trendingSchema } from '../stream/views.ts';
import type { TraceBuffer } from '../tracing/trace-buffer.ts';
import {
  type CountersBySource,
  counterIncrease,
  parseRouteCounters,
  parseStoreErrors,
  type RouteTraffic,
  TrafficWindow,
} from './gateway-traffic.ts';

/** The edge in front of the core, as the dashboard sees it. */
export interface EdgeSource {
  /** `gateway`: one in-process gateway; `fleet`: gateway processes behind the load balancer. */
  kind: 'gateway' | 'fleet';
  /** Each gateway's Prometheus text, or `up: false` when it does not answer. */
  gateways(): Promise<{ name: string; up: boolean; metrics?: string | undefined }[]>;
  /** The load balancer's backends (fleet only). */
  backends?(): { port: number; healthy: boolean; connections: number; accepted: number }[];
  /** Kills gateway `index` (0-based) abruptly (fleet only). */
  kill?(index: number): Promise<void>;
}

/** What the dashboard reads in the core. */
export interface SnapshotSources {
  registries: { api: string; registry: CommandRegistry }[];
  services: Record<string, Service>;
  eventMetrics(): { producers: Record<string, ProducerMetrics>; pipeline: unknown };
  events: PlayEvent[];
  store: ObjectStore;
  /** Where a profile's continue-watching row is read (default: the row the embedded store keeps). */
  continueWatching?: ((profileId: string) => Promise<ContinueWatching>) | undefined;
  /** Events on the embedded log or on Kafka; data in memory, on disk or in S3. */
  mode: { events: string; data: string };
  /** The latest traces, when an OpenTelemetry SDK records into this buffer. */
  traces?: TraceBuffer | undefined;
}

/** One command's card in the circuit grid (Hystrix's numbers). */
export interface CommandCard {
  api: string;
  key: string;
  group: string;
  circuit: CircuitState;
  /** Calls per second over the rolling window (short-circuited and rejected included). */
  rps: number;
  errorPercent: number;
  /** Rolling counts: what happened to the calls in the window. */
  counts: {
    success: number;
    failure: number;
    timeout: number;
    shortCircuited: number;
    rejected: number;
    badRequest: number;
    fallbackSuccess: number;
    fallbackFailure: number;
  };
  /** Since the command was defined. */
  cumulative: { success: number; shortCircuited: number; fallbackSuccess: number; failure: number; timeout: number };
  latencyMs: { mean: number; p50: number; p90: number; p99: number };
  concurrent: number;
}

/** One bulkhead (group) and how full it is. */
export interface GroupGauge {
  api: string;
  group: string;
  kind: string;
  limit: number;
  active: number;
  queued: number;
  rollingMaxActive: number;
  rejected: number;
}

/** Everything the dashboard shows, at one moment. */
export interface DashboardSnapshot {
  at: number;
  mode: { events: string; data: string; edge: 'gateway' | 'fleet' | 'none' };
  gateway: {
    routes: RouteTraffic[];
    instances: { name: string; up: boolean; requests: number }[];
    backends: { port: number; healthy: boolean; connections: number; accepted: number }[];
    /** Rate-limit store calls that failed or timed out since start, every gateway process (per route fallbacks: `routes[].rateLimitFallbacks`). */
    rateLimitStoreErrors: number;
  };
  commands: CommandCard[];
  groups: GroupGauge[];
  events: {
    emitted: number;
    producers: Record<string, ProducerMetrics>;
    pipeline: PipelineMetrics | undefined;
    recent: { name: string; profileId: string; titleId?: string | undefined; time: string }[];
  };
  views: {
    trending: Record<string, { titleId: string; name: string; plays: number }[]>;
    continueWatching: Record<string, { titleId: string; name: string; positionMs: number }[]>;
  };
  services: { name: string; key: string; url: string; chaos: Chaos }[];
  chaos: { gatewayKill: boolean; broker: { available: boolean; brokers: string[]; stopped: boolean } };
}

const titleName = (id: string) => seedTitles.find((t) => t.id === id)?.name ?? id;
const COUNTRIES = [...new Set(seedSubscribers.map((s) => s.country))];

/**
 * Builds dashboard snapshots from the core's registries, services, producers
 * and pipeline, the edge's gateways, and the stream processor's served views
 * (read from the key-value store at most once a second).
 */
export function createSnapshotter(sources: SnapshotSources) {
  const kv = createKeyValueStore({ store: sources.store });
  const trending = kv.namespace('trending', trendingSchema);
  const continueWatching = sources.continueWatching ?? rowViewingHistory(kv).continueWatching;
  const traffic = new TrafficWindow();
  // Store errors per gateway process (its last count), and their sum since start: a restarted process counts from zero.
  const storeErrorsSeen = new Map<string, number>();
  let storeErrors = 0;
  let views: DashboardSnapshot['views'] = { trending: {}, continueWatching: {} };
  let viewsAt = 0;
  let viewsReading: Promise<void> | undefined;

  const readViews = async () => {
    const [countries, profiles] = await Promise.all([
      Promise.all(COUNTRIES.map(async (c) => [c, (await trending.get(c).catch(() => undefined))?.value] as const)),
      Promise.all(
        seedSubscribers.map(
          async (s) => [s.profileId, await continueWatching(s.profileId).catch(() => undefined)] as const,
        ),
      ),
    ]);
    views = {
      trending: Object.fromEntries(
        countries.map(([c, v]) => [c, (v?.titles ?? []).map((t) => ({ ...t, name: titleName(t.titleId) }))]),
      ),
      continueWatching: Object.fromEntries(
        profiles.map(([p, v]) => [
          p,
          (v?.titles ?? []).map((t) => ({ titleId: t.titleId, name: titleName(t.titleId), positionMs: t.positionMs })),
        ]),
      ),
    };
  };

  return async function snapshot(
    edge: EdgeSource | undefined,
    broker: { available: boolean; brokers: string[]; stopped: boolean },
  ): Promise<DashboardSnapshot> {
    const at = Date.now();
    if (at - viewsAt >= 1000 && !viewsReading) {
      viewsAt = at;
      viewsReading = readViews().finally(() => {
        viewsReading = undefined;
      });
    }
    const gateways = edge ? await edge.gateways() : [];
    // Per process: a gateway that does not answer adds nothing, and keeps what it counted before.
    const bySource: CountersBySource = new Map(
      gateways.flatMap((g) => (g.metrics ? [[g.name, parseRouteCounters(g.metrics)] as const] : [])),
    );
    const routes = traffic.add(at, bySource);
    for (const g of gateways) {
      if (!g.metrics) continue;
      const now = parseStoreErrors(g.metrics);
      storeErrors += counterIncrease(storeErrorsSeen.get(g.name), now);
      storeErrorsSeen.set(g.name, now);
    }
    await viewsReading;

    const commands: CommandCard[] = [];
    const groups: GroupGauge[] = [];
    for (const { api, registry } of sources.registries) {
      for (const m of registry.commandMetrics()) {
        const c = m.counts;
        const calls = c.success + c.failure + c.timeout + c.shortCircuited + c.rejected + c.badRequest;
        const p = m.latencyExecute.percentiles;
        commands.push({
          api,
          key: m.key,
          group: m.group,
          circuit: m.circuit,
          rps: calls / (m.windowMs / 1000),
          errorPercent: m.health.errorPercentage,
          counts: {
            success: c.success,
            failure: c.failure,
            timeout: c.timeout,
            shortCircuited: c.shortCircuited,
            rejected: c.rejected,
            badRequest: c.badRequest,
            fallbackSuccess: c.fallbackSuccess,
            fallbackFailure: c.fallbackFailure,
          },
          cumulative: {
            success: m.cumulativeCounts.success,
            shortCircuited: m.cumulativeCounts.shortCircuited,
            fallbackSuccess: m.cumulativeCounts.fallbackSuccess,
            failure: m.cumulativeCounts.failure,
            timeout: m.cumulativeCounts.timeout,
          },
          latencyMs: { mean: m.latencyExecute.mean, p50: p['50'], p90: p['90'], p99: p['99'] },
          concurrent: m.concurrency.current,
        });
      }
      for (const g of registry.groupMetrics()) {
        groups.push({
          api,
          group: g.group,
          kind: g.kind,
          limit: g.limit,
          active: g.active,
          queued: g.queued,
          rollingMaxActive: g.rollingMaxActive,
          rejected: g.rejected,
        });
      }
    }

    const { producers, pipeline } = sources.eventMetrics();
    return {
      at,
      mode: { ...sources.mode, edge: edge?.kind ?? 'none' },
      gateway: {
        routes,
        instances: gateways.map((g) => ({
          name: g.name,
          up: g.up,
          requests: [...(bySource.get(g.name)?.values() ?? [])].reduce(
            (sum, r) => sum + Object.values(r.byClass as Record<string, number>).reduce((a, b) => a + b, 0),
            0,
          ),
        })),
        backends: edge?.backends?.() ?? [],
        rateLimitStoreErrors: storeErrors,
      },
      commands,
      groups,
      events: {
        emitted: sources.events.length,
        producers,
        pipeline: pipeline as PipelineMetrics | undefined,
        recent: sources.events
          .slice(-8)
          .reverse()
          .map((e) => ({
            name: e.name,
            profileId: e.payload.profileId,
            titleId: 'titleId' in e.payload ? e.payload.titleId : undefined,
            time: e.time,
          })),
      },
      views,
      services: Object.entries(sources.services).map(([key, s]) => ({
        key,
        name: s.name,
        url: s.url,
        chaos: { ...s.chaos },
      })),
      chaos: { gatewayKill: Boolean(edge?.kill), broker },
    };
  };
}
