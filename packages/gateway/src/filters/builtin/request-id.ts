import { randomHex } from '../../tracing/random-hex.js';
import type { GatewayContext } from '../context.js';
import { defineFilter, type Filter } from '../filter.js';

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** A new W3C `traceparent` continuing `incoming`'s trace (or starting one). */
export function nextTraceparent(incoming: string | undefined): string {
  const match = incoming === undefined ? null : TRACEPARENT.exec(incoming);
  const span = randomHex(8);
  if (match && match[1] !== '00000000000000000000000000000000') return `00-${match[1]}-${span}-${match[3]}`;
  return `00-${randomHex(16)}-${span}-01`;
}

/**
 * Request id and W3C trace context: sends the request id upstream and back to
 * the client in `header`, and a `traceparent` that continues the client's
 * trace with a new parent span id (or starts a sampled trace).
 */
export function requestIdFilters(header = 'x-request-id'): Filter[] {
  const name = header.toLowerCase();
  return [
    defineFilter({
      name: 'requestId',
      phase: 'inbound',
      order: -1000,
      run(ctx: GatewayContext) {
        ctx.upstreamHeaders[name] = ctx.requestId;
        // The gateway is a hop of the trace: same trace id, a new parent span id.
        const incoming = ctx.req.headers.traceparent;
        ctx.upstreamHeaders.traceparent = nextTraceparent(typeof incoming === 'string' ? incoming : undefined);
      },
    }),
    defineFilter({
      name: 'requestId',
      phase: 'outbound',
      order: 1000,
      run(ctx: GatewayContext) {
        if (ctx.response) ctx.response.headers[name] = ctx.requestId;
      },
    }),
  ];
}
