import type { IncomingMessage } from 'node:http';
import type { GatewayError } from '../errors.js';
import type { Route } from '../routing/route-table.js';
import type { RequestSpans } from '../tracing/spans.js';
import type { AuthInfo, GatewayContext, ResponseHead, ResponseHeaders } from './context.js';

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

  constructor(
    req: IncomingMessage,
    path: string,
    query: string,
    requestId: string,
    clientIp: string,
    protocol: 'http' | 'https',
    upstreamHeaders: Record<string, string | string[]>,
    maxBodyBytes: number | undefined,
    startTime: number,
  ) {
    this.req = req;
    this.method = req.method ?? 'GET';
    this.path = path;
    this.query = query;
    this.requestId = requestId;
    this.clientIp = clientIp;
    this.protocol = protocol;
    this.upstreamHeaders = upstreamHeaders;
    this.maxBodyBytes = maxBodyBytes;
    this.startTime = startTime;
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
