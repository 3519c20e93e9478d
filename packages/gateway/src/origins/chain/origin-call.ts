import type { Dispatcher } from 'undici';
import type { TrafficStats } from '../../metrics/gateway-metrics.js';
import type { RequestSpans } from '../../tracing/spans.js';
import type { OriginServer } from '../server.js';
import type { ForwardingHandler } from './forwarding-handler.js';

/** The key of the {@link OriginCall} on the dispatch options of a call through an origin's chain. */
export const ORIGIN_CALL: unique symbol = Symbol.for('backlot.gateway.originCall');

/**
 * What one proxied request tells its origin's interceptors, beside the
 * dispatch options: how often it may be tried, and (written by the chain)
 * which attempt this is and which server it went to.
 */
export interface OriginCall {
  /** Attempts allowed (1: no retry), from the origin's `retry.maxAttempts`, the route and whether the body can be replayed. */
  readonly maxAttempts: number;
  /** Whether the method is idempotent (a timeout is then retryable too). */
  readonly idempotent: boolean;
  /** The attempt being made, from 1. */
  attempt: number;
  /** A server the balancer avoids when there is a choice (the one the previous attempt failed on). */
  exclude: OriginServer | undefined;
  /** The server the current attempt went to (set by the balancer). */
  server: OriginServer | undefined;
}

/** The call of a request from the gateway's own exchange: with the counters and spans its attempts update. @internal */
export interface ExchangeOriginCall extends OriginCall {
  /** The origin's traffic counters (in-flight attempts, retries). */
  readonly stats: TrafficStats;
  /** The request's spans, when traced: each attempt gets a client span. */
  readonly spans: RequestSpans | undefined;
  /** The last step handler created for the call (its steps, innermost first: see `cancelOpenSteps`). */
  innermost: ForwardingHandler | undefined;
  /** Why the exchange cancelled the call (its deadline, a client gone): no attempt starts after it. */
  cancelled: Error | undefined;
}

/** Dispatch options of a call through an origin's chain: undici's, plus the {@link OriginCall}. */
export type OriginDispatchOptions = Dispatcher.DispatchOptions & { readonly [ORIGIN_CALL]?: OriginCall | undefined };

/** The call of `options`, or `undefined` when the request did not come from the gateway's exchange. */
export function originCall(options: Dispatcher.DispatchOptions): OriginCall | undefined {
  return (options as OriginDispatchOptions)[ORIGIN_CALL];
}

/** The gateway's own call of `options` (with counters and spans), if it is one. @internal */
export function exchangeCall(call: OriginCall | undefined): ExchangeOriginCall | undefined {
  return call !== undefined && 'stats' in call ? (call as ExchangeOriginCall) : undefined;
}
