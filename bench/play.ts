/**
 * `npm run bench -- play`: Play requests per second through the whole flow
 * (load balancer → gateway → Play API → six microservices → store → events)
 * on what `npm start` runs — the filesystem store and the embedded event log
 * in a data folder — with one and with two gateway processes; and, as a
 * reference for the store's share, the same flow on the memory store.
 * `cpu_ms_per_play` is the CPU the platform's core process (plus the load
 * generator, in the same process) spends per play: unlike requests/s it
 * hardly moves when other processes share the machine.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runLoad } from '../examples/play-platform/src/cli/load-generator.ts';
import { startGatewayFleet } from '../examples/play-platform/src/edge/gateway-fleet.ts';
import { startCore } from '../examples/play-platform/src/platform.ts';
import { type Figures, runBench } from './lib/harness.ts';

const DURATION_S = 6;
const CONNECTIONS = 32;

function subject(gateways: number, store: 'filesystem' | 'memory' = 'filesystem'): () => Promise<Figures> {
  return async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'bench-play-'));
    const core = await startCore({ ...(store === 'filesystem' ? { dataDir } : {}), admin: false });
    const fleet = await startGatewayFleet({
      count: gateways,
      port: 0,
      playApi: core.playApiUrls.v1,
      playApiCanary: core.playApiUrls.v2,
      canaryPercent: 0,
      rateLimit: { capacity: 1_000_000, refillPerSecond: 1_000_000 },
    });
    try {
      const cpu = process.cpuUsage();
      const summary = await runLoad({ url: fleet.url, durationS: DURATION_S, connections: CONNECTIONS });
      const used = process.cpuUsage(cpu);
      return {
        rps: summary.rps,
        p50_ms: summary.p50Ms,
        p99_ms: summary.p99Ms,
        error_rate: summary.errorRate,
        cpu_ms_per_play: (used.user + used.system) / 1000 / Math.max(1, summary.requests),
      };
    } finally {
      await fleet.close();
      await core.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  };
}

export default function run() {
  return runBench({
    name: 'play',
    unit: {
      rps: 'Play requests/s through the whole flow (higher is better)',
      p50_ms: 'ms (lower is better)',
      p99_ms: 'ms (lower is better)',
      error_rate: 'share of requests not answered 200 (lower is better)',
      cpu_ms_per_play: 'ms of CPU in the core process per play (lower is better)',
    },
    subjects: {
      'backlot-1gw': subject(1),
      'backlot-2gw': subject(2),
      'backlot-1gw-memory-store': subject(1, 'memory'),
    },
    reference: 'backlot-1gw',
    rounds: 3,
    warmup: 1,
  });
}
