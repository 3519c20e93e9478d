import * as hdr from 'hdr-histogram-js';
import { Agent, request } from 'undici';
import { loadProfiles, seedTitles } from '../data/seed.ts';
import { tokenFor } from '../edge/demo-users.ts';

/** Options of {@link runLoad}. */
export interface LoadOptions {
  /** The platform's URL (the load balancer or a gateway). */
  url: string;
  /** How long to run, in seconds. */
  durationS: number;
  /** Concurrent connections, each sending one request after another. */
  connections: number;
  /** Profiles to play as (default: the load profiles `p-load-01` … `p-load-64`). */
  profiles?: string[];
  /** Called about four times a second with progress. */
  onProgress?: (progress: LoadProgress) => void;
}

/** Progress while the load runs. */
export interface LoadProgress {
  elapsedS: number;
  requests: number;
  errors: number;
}

/** What a load run measured. */
export interface LoadSummary {
  requests: number;
  durationS: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  /** Answers other than 200 by status and error code (`503 license_unavailable`), and network failures (`network …`). */
  errors: Record<string, number>;
  errorRate: number;
  /** Fallbacks seen in the answers' traces, by service and reason. */
  fallbacks: Record<string, number>;
}

const DEVICES = ['tv', 'web', 'mobile', 'tablet'] as const;

/**
 * Plays titles through the platform as fast as `connections` clients can,
 * for `durationS` seconds, and summarises throughput, latency, errors and
 * the fallbacks the platform used.
 */
export async function runLoad(options: LoadOptions): Promise<LoadSummary> {
  const profiles = options.profiles ?? loadProfiles.map((p) => p.profileId);
  const tokens = new Map(await Promise.all(profiles.map(async (p) => [p, await tokenFor(p)] as const)));
  const titles = seedTitles.filter((t) => t.maturity <= 16 && t.rights.US && t.rights.NL).map((t) => t.id);
  const agent = new Agent({ connections: options.connections, keepAliveTimeout: 10_000 });
  const latency = hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 60_000_000,
    numberOfSignificantValueDigits: 3,
  });
  const errors: Record<string, number> = {};
  const fallbacks: Record<string, number> = {};
  let requests = 0;
  let failed = 0;
  const started = performance.now();
  const deadline = started + options.durationS * 1000;
  const target = new URL('/play', options.url).toString();

  const progress = setInterval(() => {
    options.onProgress?.({ elapsedS: (performance.now() - started) / 1000, requests, errors: failed });
  }, 250);

  const client = async (id: number) => {
    // Each client is one viewer: its own profile and device (profiles first, then
    // devices), so a profile's concurrent streams stay within its plan's four.
    const profileId = profiles[id % profiles.length] as string;
    const device = DEVICES[Math.floor(id / profiles.length) % DEVICES.length];
    let n = id;
    while (performance.now() < deadline) {
      n++;
      const body = JSON.stringify({ profileId, titleId: titles[n % titles.length], device });
      const t0 = performance.now();
      try {
        const response = await request(target, {
          method: 'POST',
          dispatcher: agent,
          headers: { 'content-type': 'application/json', authorization: `Bearer ${tokens.get(profileId)}` },
          body,
        });
        const answer = (await response.body.json().catch(() => ({}))) as {
          error?: string;
          trace?: { service: string; outcome: string }[];
        };
        latency.recordValue(Math.max(1, Math.round((performance.now() - t0) * 1000)));
        if (response.statusCode !== 200) {
          failed++;
          const kind = `${response.statusCode} ${answer.error ?? ''}`.trim();
          errors[kind] = (errors[kind] ?? 0) + 1;
        }
        for (const step of answer.trace ?? []) {
          if (step.outcome.startsWith('fallback:')) {
            const key = `${step.service} (${step.outcome.slice(9)})`;
            fallbacks[key] = (fallbacks[key] ?? 0) + 1;
          }
        }
      } catch (error) {
        failed++;
        const kind = `network ${(error as { code?: string }).code ?? (error as Error).name}`;
        errors[kind] = (errors[kind] ?? 0) + 1;
      }
      requests++;
    }
  };
  await Promise.all(Array.from({ length: options.connections }, (_, i) => client(i)));
  clearInterval(progress);
  await agent.close();
  const durationS = (performance.now() - started) / 1000;
  return {
    requests,
    durationS,
    rps: requests / durationS,
    p50Ms: latency.getValueAtPercentile(50) / 1000,
    p99Ms: latency.getValueAtPercentile(99) / 1000,
    errors,
    errorRate: requests === 0 ? 0 : failed / requests,
    fallbacks,
  };
}
