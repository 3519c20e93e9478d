import type { Duplex } from 'node:stream';
import type { AccessLog } from '../logging/access-log.js';
import type { GatewayMetrics } from '../metrics/gateway-metrics.js';
import type { Runtime } from '../server/runtime.js';

/** What a gateway's state starts from. @internal */
export interface GatewayStateOptions {
  /** The first runtime (routes, origins, filters, limits). */
  readonly runtime: Runtime;
  /** The gateway's traffic counters. */
  readonly metrics: GatewayMetrics;
  /** The access log of the first runtime, when logging is on. */
  readonly accessLog: AccessLog | undefined;
  /** `https` when the edge terminates TLS (what `X-Forwarded-Proto` says). */
  readonly protocol: 'http' | 'https';
}

/**
 * The state every exchange of one gateway shares: the runtime in force (one
 * reference, swapped whole on reload), the access log, the in-flight count
 * and the drain. Every entrance (HTTP request, HTTP/1.1 upgrade, HTTP/2
 * extended CONNECT) reads it through its {@link Exchange}. @internal
 */
export class GatewayState {
  /** The gateway's traffic counters. */
  readonly metrics: GatewayMetrics;
  /** `http` or `https`. */
  readonly protocol: 'http' | 'https';
  /** Client streams of open tunnels (WebSockets), destroyed when a drain runs out of time. */
  readonly tunnels = new Set<Duplex>();
  #runtime: Runtime;
  #accessLog: AccessLog | undefined;
  #draining = false;
  #inflight = 0;
  #onIdle: (() => void) | undefined;

  constructor(options: GatewayStateOptions) {
    this.metrics = options.metrics;
    this.protocol = options.protocol;
    this.#runtime = options.runtime;
    this.#accessLog = options.accessLog;
  }

  /** The runtime in force: an exchange reads it once, so a reload never mixes two configs in one exchange. */
  get runtime(): Runtime {
    return this.#runtime;
  }

  /** The access log in force. */
  get accessLog(): AccessLog | undefined {
    return this.#accessLog;
  }

  /** Whether the gateway is shutting down. */
  get draining(): boolean {
    return this.#draining;
  }

  /** Exchanges begun and not finished (an upgrade's until its tunnel closes). */
  get inflight(): number {
    return this.#inflight;
  }

  /** Swaps in a new runtime and its access log (the atomic reload). */
  swap(runtime: Runtime, accessLog: AccessLog | undefined): void {
    this.#runtime = runtime;
    this.#accessLog = accessLog;
  }

  /** Counts an exchange in. */
  enter(): void {
    this.#inflight++;
  }

  /** Counts an exchange out, waking a drain waiting for the last one. */
  leave(): void {
    if (--this.#inflight === 0) this.#onIdle?.();
  }

  /**
   * Starts draining and resolves once no exchange is in flight, or after
   * `timeoutMs`, whichever comes first.
   */
  drain(timeoutMs: number): Promise<void> {
    this.#draining = true;
    if (this.#inflight === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      timer.unref();
      this.#onIdle = () => {
        clearTimeout(timer);
        this.#onIdle = undefined;
        resolve();
      };
    });
  }

  /** Destroys the client streams of the tunnels still open. */
  closeTunnels(): void {
    for (const stream of this.tunnels) stream.destroy();
    this.tunnels.clear();
  }
}
