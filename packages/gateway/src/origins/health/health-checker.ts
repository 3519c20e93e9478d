import type { OriginServer } from '../server.js';

/** Options of {@link startHealthChecks}. */
export interface HealthCheckOptions {
  path: string;
  intervalMs: number;
  timeoutMs: number;
  unhealthyThreshold: number;
  healthyThreshold: number;
}

/**
 * Active health checks: every `intervalMs`, a `GET path` to each server on
 * its own pool; a 2xx counts as a pass. `unhealthyThreshold` failures in a
 * row take the server out of rotation, `healthyThreshold` passes put it
 * back. Returns a function that stops the checks.
 */
export function startHealthChecks(servers: readonly OriginServer[], options: HealthCheckOptions): () => void {
  const streak = new Map<OriginServer, number>(); // >0 passes, <0 failures
  let stopped = false;
  const check = async (server: OriginServer) => {
    let ok = false;
    try {
      const response = await server.pool.request({
        path: `${server.basePath}${options.path}`,
        method: 'GET',
        headersTimeout: options.timeoutMs,
        bodyTimeout: options.timeoutMs,
        signal: AbortSignal.timeout(options.timeoutMs),
      });
      await response.body.dump();
      ok = response.statusCode >= 200 && response.statusCode < 300;
    } catch {
      ok = false;
    }
    if (stopped) return;
    const previous = streak.get(server) ?? 0;
    const next = ok ? Math.max(previous, 0) + 1 : Math.min(previous, 0) - 1;
    streak.set(server, next);
    if (!ok && -next >= options.unhealthyThreshold) server.healthy = false;
    if (ok && next >= options.healthyThreshold) server.healthy = true;
  };
  const tick = () => {
    for (const server of servers) void check(server);
  };
  tick();
  const timer = setInterval(tick, options.intervalMs);
  timer.unref();
  return () => {
    stopped = true;
    clearInterval(timer);
  };
}
