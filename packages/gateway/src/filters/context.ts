import type { IncomingMessage } from 'node:http';
import type { Route } from '../routing/route-table.js';

/** Response headers as the gateway writes them. */
export type ResponseHeaders = Record<string, string | string[] | number>;

/** The response as outbound filters see it: status and headers, before they are written. */
export interface ResponseHead {
  /** HTTP status. */
  status: number;
  /** Headers to write (lower-case names, hop-by-hop already removed). */
  headers: ResponseHeaders;
}

/** What auth filters learned about the caller. */
export interface AuthInfo {
  /** JWT `sub`, when a JWT was verified. */
  subject?: string | undefined;
  /** Verified JWT claims. */
  claims?: Readonly<Record<string, unknown>> | undefined;
  /** An identifier of the API key used (a hash prefix, never the key). */
  apiKeyId?: string | undefined;
}

/**
 * One request as it passes the filter phases. Inbound filters may change the
 * upstream headers and path, pick an origin, or answer locally with
 * {@link GatewayContext.respond}; outbound filters see {@link GatewayContext.response}.
 */
export interface GatewayContext {
  /** The client's request (its body is streamed to the origin; do not read it in a filter). */
  readonly req: IncomingMessage;
  /** Upper-case HTTP method. */
  readonly method: string;
  /** Normalised request path (no query string). */
  path: string;
  /** Query string with its `?`, or `''`. */
  query: string;
  /** The request id (`x-request-id` from a trusted hop, or a new UUID). */
  readonly requestId: string;
  /** The client IP, from the socket or from trusted proxies' `X-Forwarded-For`. */
  readonly clientIp: string;
  /** `http` or `https`, as the client connected. */
  readonly protocol: 'http' | 'https';
  /** Headers that will be sent upstream; hop-by-hop headers are already gone. */
  readonly upstreamHeaders: Record<string, string | string[]>;
  /** The matched route. */
  route: Route | undefined;
  /** Path params of the route's `path` pattern. */
  params: Record<string, string>;
  /** The origin name the request goes to (set after routing; filters may change it). */
  origin: string | undefined;
  /** The path (with query) sent upstream (set after routing; filters may change it). */
  upstreamPath: string;
  /** Authenticated caller, set by the auth filters. */
  auth: AuthInfo | undefined;
  /** The response head, in the outbound phase. */
  response: ResponseHead | undefined;
  /** The buffered response body, in the outbound phase of a route with `bufferResponse` (filters may replace it). */
  responseBody: Buffer | undefined;
  /** Request body limit in bytes for this request (`undefined`: none). */
  maxBodyBytes: number | undefined;
  /** Free space for filters to share data. */
  readonly state: Map<string | symbol, unknown>;
  /** Answers locally: the endpoint (proxy) is skipped, outbound filters still run. */
  respond(status: number, body?: string | Buffer, headers?: ResponseHeaders): void;
  /** Whether a local answer was set by {@link GatewayContext.respond}. */
  readonly responded: boolean;
}
