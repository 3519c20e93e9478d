import type { IncomingMessage } from 'node:http';
import type { GatewayError } from '../errors.js';
import type { Route } from '../routing/route-table.js';
import type { RequestSpans } from '../tracing/spans.js';
import type { AuthInfo, GatewayContext, ResponseHead, ResponseHeaders } from './context.js';

/** @internal what a {@link RequestContext} starts from. */
export interface RequestContextInit {
  /** The client's request. */
  readonly req: IncomingMessage;
  /** The normalised path. */
  readonly path: string;
  /** The query string, with its `?` (or empty). */
  readonly query: string;
  readonly requestId: string;
  /** The client's address, through the trusted proxies. */
  readonly clientIp: string;
  readonly protocol: 'http' | 'https';
  /** The headers sent upstream (hop-by-hop ones removed, forwarding ones set). */
  readonly upstreamHeaders: Record<string, string | string[]>;
  /** The body limit (a filter may lower it). */
  readonly maxBodyBytes: number | undefined;
  /** When the exchange began (`performance.now()`). */
  readonly startTime: number;
}

/** @internal the concrete context the gateway creates per request. */
export class RequestContext implements GatewayContext {
  readonly req: IncomingMessage;
  readonly method: string;
  path: string;
  query: string;
  readonly requestId: string;
  readonly clientIp: string;
  readonly protocol: 'http' | 'https';
  readonly upstreamHeaders: Record<string, string | string[]>;
  route: Route | undefined = undefined;
  params: Record<string, string> = {};
  origin: string | undefined = undefined;
  upstreamPath = '/';
  auth: AuthInfo | undefined = undefined;
  response: ResponseHead | undefined = undefined;
  responseBody: Buffer | undefined = undefined;
  maxBodyBytes: number | undefined;
  #state: Map<string | symbol, unknown> | undefined;
  responded = false;
  /** @internal */ localBody: string | Buffer | undefined = undefined;
  /** @internal the error answered, for the access log */
  failure: GatewayError | undefined = undefined;
  readonly startTime: number;
  /** @internal the request's spans, when a tracer provider is registered */
  spans: RequestSpans | undefined = undefined;

  constructor(init: RequestContextInit) {
    const req = init.req;
    this.req = req;
    this.method = req.method ?? 'GET';
    this.path = init.path;
    this.query = init.query;
    this.requestId = init.requestId;
    this.clientIp = init.clientIp;
    this.protocol = init.protocol;
    this.upstreamHeaders = init.upstreamHeaders;
    this.maxBodyBytes = init.maxBodyBytes;
    this.startTime = init.startTime;
  }

  get state(): Map<string | symbol, unknown> {
    this.#state ??= new Map();
    return this.#state;
  }

  respond(status: number, body?: string | Buffer, headers?: ResponseHeaders): void {
    this.responded = true;
    this.response = { status, headers: { ...headers } };
    this.localBody = body;
  }
}
