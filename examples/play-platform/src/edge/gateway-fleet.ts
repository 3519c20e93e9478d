import { type ChildProcess, fork } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { fullJitterDelay } from '@backlot/resilience';
import { isSpansMessage } from '../tracing/span-ipc.ts';
import type { BufferedSpan } from '../tracing/trace-buffer.ts';
import type { EdgeOptions } from './gateway-config.ts';
import { createLoadBalancer } from './load-balancer.ts';

/** A gateway process behind the load balancer. */
export interface GatewayInstance {
  pid: number;
  port: number;
  /** Its admin listener on 127.0.0.1 (`/metrics`, `/routes`, `/hystrix.stream`). */
  adminPort: number;
  process: ChildProcess;
}

/** How the fleet replaces instances that died, as an auto-scaling group would. */
export interface SupervisorOptions {
  /** Backoff before a replacement, with full jitter: first ceiling (default 250 ms) … */
  baseDelayMs?: number;
  /** … and the largest one, for an instance that keeps dying (default 30 s). */
  maxDelayMs?: number;
  /** An instance that lived this long resets the backoff (default 30 s). */
  stableAfterMs?: number;
  /** Told of each replacement (default: nothing). */
  onReplace?: (event: { index: number; deadPid: number; exit: string; pid?: number; error?: Error }) => void;
}

/** The edge of `npm start`: gateway processes behind the L4 load balancer. */
export interface GatewayFleet {
  /** The load balancer's URL: what clients call. */
  url: string;
  /** The instances now (a replacement takes its predecessor's place). */
  instances: GatewayInstance[];
  /** Backends as the load balancer sees them (health, open connections). */
  backends: ReturnType<typeof createLoadBalancer>['backends'];
  /** Instances replaced so far. */
  readonly replacements: number;
  close(): Promise<void>;
}

const instanceScript = fileURLToPath(new URL('./gateway-instance.ts', import.meta.url));

function startInstance(options: EdgeOptions, onSpans?: (spans: BufferedSpan[]) => void): Promise<GatewayInstance> {
  return new Promise((resolve, reject) => {
    const child = fork(instanceScript, [], {
      env: { ...process.env, PLAY_EDGE_OPTIONS: JSON.stringify(options) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    if (onSpans) {
      child.on('message', (message) => {
        if (isSpansMessage(message)) onSpans(message.spans);
      });
    }
    const onExit = (code: number | null) => reject(new Error(`gateway instance exited with ${code} before listening`));
    child.once('exit', onExit);
    child.once('message', (message: { type: string; port: number; adminPort: number }) => {
      child.off('exit', onExit);
      if (message.type === 'ready') {
        resolve({ pid: child.pid as number, port: message.port, adminPort: message.adminPort, process: child });
      }
    });
  });
}

/**
 * Starts `count` gateway processes and the load balancer in front of them on
 * `port`, and supervises them: an instance that exits (crash, SIGKILL) is
 * replaced after a jittered backoff that grows while replacements keep dying.
 */
export async function startGatewayFleet(
  options: EdgeOptions & {
    count: number;
    port: number;
    supervise?: SupervisorOptions | false;
    /** Told of the spans each instance finished (with `traceSample` > 0): e.g. the dashboard's `TraceBuffer.add`. */
    onSpans?: (spans: BufferedSpan[]) => void;
  },
): Promise<GatewayFleet> {
  const { count, port, supervise = {}, onSpans, ...edge } = options;
  const instances = await Promise.all(Array.from({ length: count }, () => startInstance(edge, onSpans)));
  const balancer = createLoadBalancer({
    backends: instances.map((instance) => ({ host: '127.0.0.1', port: instance.port, healthPath: '/health' })),
  });
  const address = await balancer.listen(port);
  let closing = false;
  let replacements = 0;
  const stopClosing = new AbortController();

  const watch = (index: number, instance: GatewayInstance, attempt: number) => {
    if (supervise === false) return;
    const startedAt = Date.now();
    instance.process.once('exit', (code, signal) => {
      if (closing) return;
      const stable = Date.now() - startedAt >= (supervise.stableAfterMs ?? 30_000);
      void replace(index, instance, stable ? 1 : attempt, signal ?? `exit ${code}`);
    });
  };

  const replace = async (index: number, dead: GatewayInstance, attempt: number, exit: string) => {
    if (supervise === false) return;
    for (let tries = attempt; !closing; tries++) {
      const delay = fullJitterDelay(tries, supervise.baseDelayMs ?? 250, supervise.maxDelayMs ?? 30_000);
      try {
        await sleep(delay, undefined, { signal: stopClosing.signal });
      } catch {
        return; // the fleet is closing
      }
      try {
        const next = await startInstance(edge, onSpans);
        if (closing) {
          next.process.kill('SIGTERM');
          return;
        }
        instances[index] = next;
        balancer.replaceBackend(index, { host: '127.0.0.1', port: next.port });
        replacements++;
        supervise.onReplace?.({ index, deadPid: dead.pid, exit, pid: next.pid });
        watch(index, next, tries + 1);
        return;
      } catch (error) {
        supervise.onReplace?.({ index, deadPid: dead.pid, exit, error: error as Error });
      }
    }
  };
  for (const [index, instance] of instances.entries()) watch(index, instance, 1);

  return {
    url: `http://127.0.0.1:${address.port}`,
    instances,
    backends: balancer.backends,
    get replacements() {
      return replacements;
    },
    async close() {
      closing = true;
      stopClosing.abort();
      await balancer.close();
      await Promise.all(
        instances.map(
          (instance) =>
            new Promise<void>((resolve) => {
              if (instance.process.exitCode !== null || instance.process.signalCode !== null) return resolve();
              instance.process.once('exit', () => resolve());
              instance.process.kill('SIGTERM');
            }),
        ),
      );
    },
  };
}
