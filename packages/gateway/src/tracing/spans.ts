import type { IncomingMessage } from 'node:http';
import { activeTracer, recordSpanError } from '@backlot/metrics-core/tracing';
import {
  type Attributes,
  type Context,
  context,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type TextMapGetter,
  type Tracer,
  trace,
} from '@opentelemetry/api';

/** The instrumentation scope of the gateway's spans. */
export const TRACER_NAME = '@backlot/gateway';

/**
 * The gateway's tracer, or `undefined` while no tracer provider is registered
 * (the common case without an SDK): the request path then creates no span,
 * context or attribute object at all.
 */
export function currentTracer(): Tracer | undefined {
  return activeTracer(TRACER_NAME);
}

/** Whether a propagator is registered (`propagation.setGlobalPropagator`): the no-op one has no fields. */
export function hasPropagator(): boolean {
  return propagation.fields().length > 0;
}

const headerGetter: TextMapGetter<IncomingMessage['headers']> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => carrier[key.toLowerCase()],
};

const KNOWN_METHODS = new Set(['CONNECT', 'DELETE', 'GET', 'HEAD', 'OPTIONS', 'PATCH', 'POST', 'PUT', 'TRACE']);

/** The OTel `http.request.method` value: known methods as they are, others `_OTHER`. */
const semconvMethod = (method: string) => (KNOWN_METHODS.has(method) ? method : '_OTHER');

/**
 * The spans of one request: the server span and the context child spans
 * start in. When the SDK's sampler did not record the server span (sampling
 * off, or an unsampled parent), the request makes no other span: phases run
 * in the server span's context (so spans that filters start see an unsampled
 * parent) and origin attempts only carry that context upstream (W3C: an
 * unsampled trace still propagates, with flags `00`). @internal
 */
export class RequestSpans {
  readonly tracer: Tracer;
  readonly server: Span;
  /** Whether the server span records (false: sampled out, no child span is made). */
  readonly recording: boolean;
  readonly #parent: Context;
  #context: Context | undefined;
  readonly #method: string;

  constructor(tracer: Tracer, server: Span, parent: Context, method: string) {
    this.tracer = tracer;
    this.server = server;
    this.recording = server.isRecording();
    this.#parent = parent;
    this.#method = method;
  }

  /** The server span's context: the parent of the phase and origin spans (made on first use). */
  get context(): Context {
    this.#context ??= trace.setSpan(this.#parent, this.server);
    return this.#context;
  }

  /**
   * Runs `fn` with the server span active (the origin call, so that the
   * resilience command's span is its child, or, sampled out, is not made).
   */
  run<T>(fn: () => T): T {
    return context.with(this.context, fn);
  }

  /** Once routed: the span name becomes `{method} {http.route}`, with the route id and origin. */
  routed(routeTemplate: string, routeId: string, origin: string | undefined): void {
    if (!this.recording) return;
    this.server.updateName(`${this.#method} ${routeTemplate}`);
    this.server.setAttribute('http.route', routeTemplate);
    this.server.setAttribute('backlot.gateway.route', routeId);
    if (origin !== undefined) this.server.setAttribute('backlot.gateway.origin', origin);
  }

  /** Starts a child span of the server span (a filter phase, or an origin attempt). */
  child(name: string, kind: SpanKind, attributes?: Attributes): Span {
    return this.tracer.startSpan(name, attributes ? { kind, attributes } : { kind }, this.context);
  }

  /**
   * Runs a filter phase in its own span (`gateway.filters.<phase>`), with the
   * span active so that filters' own spans nest under it (when a context
   * manager is registered). Returns what the chain returns. Sampled out: no
   * span, the chain runs in the server span's context.
   */
  phase<T>(phase: string, filters: number, run: () => T): T {
    if (!this.recording) return this.run(run);
    const span = this.child(`gateway.filters.${phase}`, SpanKind.INTERNAL, {
      'backlot.gateway.phase': phase,
      'backlot.gateway.filter_count': filters,
    });
    const end = (error?: unknown) => {
      if (error !== undefined) recordSpanError(span, error);
      span.end();
    };
    let result: T;
    try {
      result = context.with(trace.setSpan(this.context, span), run);
    } catch (error) {
      end(error);
      throw error;
    }
    const promise = result as unknown as Promise<unknown> | undefined;
    if (promise && typeof promise.then === 'function') {
      promise.then(
        () => end(),
        (error: unknown) => end(error),
      );
    } else end();
    return result;
  }

  /** Ends the server span with the response status (5xx and aborts are errors, per the HTTP conventions). */
  end(status: number, aborted: boolean): void {
    if (!this.recording) return;
    const span = this.server;
    span.setAttribute('http.response.status_code', status);
    if (status >= 500) {
      span.setAttribute('error.type', String(status));
      span.setStatus({ code: SpanStatusCode.ERROR });
    } else if (aborted) {
      span.setAttribute('error.type', 'aborted');
      span.setStatus({ code: SpanStatusCode.ERROR, message: 'the client went away' });
    }
    span.end();
  }
}

/**
 * Starts the server span of a request when a tracer provider is registered:
 * parented by the incoming W3C trace context when a propagator is registered,
 * with the OTel HTTP server attributes known before routing.
 */
export function startRequestSpans(
  req: IncomingMessage,
  method: string,
  path: string,
  query: string,
  protocol: 'http' | 'https',
  clientIp: string,
): RequestSpans | undefined {
  const tracer = currentTracer();
  if (!tracer) return undefined;
  const headers = req.headers;
  const parent = hasPropagator() ? propagation.extract(ROOT_CONTEXT, headers, headerGetter) : ROOT_CONTEXT;
  const host = headers.host ?? (headers[':authority'] as string | undefined) ?? '';
  const colon = host.lastIndexOf(':');
  const hasPort = colon > host.lastIndexOf(']');
  const attributes: Attributes = {
    'http.request.method': semconvMethod(method),
    'url.scheme': protocol,
    'url.path': path,
    'server.address': hasPort ? host.slice(0, colon) : host,
    'client.address': clientIp,
    'network.protocol.version': req.httpVersion,
  };
  if (query.length > 1) attributes['url.query'] = query.slice(1);
  if (hasPort) attributes['server.port'] = Number(host.slice(colon + 1));
  if (req.socket.remoteAddress) attributes['network.peer.address'] = req.socket.remoteAddress;
  if (req.socket.remotePort !== undefined) attributes['network.peer.port'] = req.socket.remotePort;
  const agent = headers['user-agent'];
  if (agent !== undefined) attributes['user_agent.original'] = agent;
  const server = tracer.startSpan(method, { kind: SpanKind.SERVER, attributes }, parent);
  return new RequestSpans(tracer, server, parent, semconvMethod(method) === '_OTHER' ? 'HTTP' : method);
}

/**
 * Starts the client span of one origin attempt and, when a propagator is
 * registered, injects its context into the upstream headers (replacing the
 * `requestId` filter's `traceparent`, the fallback without a propagator).
 * A sampled-out request makes no span: the server span's (unsampled) context
 * is injected instead, and `undefined` returned.
 */
export function startOriginSpan(
  spans: RequestSpans,
  method: string,
  url: URL,
  path: string,
  origin: string,
  attempt: number,
  headers: Record<string, string | string[]>,
): Span | undefined {
  if (!spans.recording) {
    if (hasPropagator()) propagation.inject(spans.context, headers);
    return undefined;
  }
  const attributes: Attributes = {
    'http.request.method': semconvMethod(method),
    'server.address': url.hostname,
    'server.port': Number(url.port || (url.protocol === 'https:' ? 443 : 80)),
    'url.full': `${url.origin}${path}`,
    'backlot.gateway.origin': origin,
  };
  if (attempt > 1) attributes['http.request.resend_count'] = attempt - 1;
  const span = spans.child(semconvMethod(method) === '_OTHER' ? 'HTTP' : method, SpanKind.CLIENT, attributes);
  if (hasPropagator()) propagation.inject(trace.setSpan(spans.context, span), headers);
  return span;
}

/** Ends an origin attempt's span with the origin's status (4xx and 5xx are client-span errors). */
export function endOriginSpan(span: Span, status: number | undefined, error?: unknown): void {
  if (status !== undefined) {
    span.setAttribute('http.response.status_code', status);
    if (status >= 400 && error === undefined) {
      span.setAttribute('error.type', String(status));
      span.setStatus({ code: SpanStatusCode.ERROR });
    }
  }
  if (error !== undefined) recordSpanError(span, error);
  span.end();
}
