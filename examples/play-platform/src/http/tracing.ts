import { activeTracer } from '@backlot/resilience';
import {
  type Context,
  context,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type TextMapGetter,
  trace,
} from '@opentelemetry/api';
import type { FastifyInstance, FastifyRequest } from 'fastify';

/** The instrumentation scope of the services' HTTP spans. */
export const HTTP_TRACER_NAME = 'backlot-service-http';

const SPAN = Symbol('request span');

interface Traced {
  span: Span;
  context: Context;
}

type TracedRequest = FastifyRequest & { [SPAN]?: Traced | undefined };

const headerGetter: TextMapGetter<FastifyRequest['headers']> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => carrier[key.toLowerCase()],
};

/**
 * With an OpenTelemetry SDK registered, every request but the operational ones
 * (`/health`, `/ready`, `/metrics`, `/_chaos`) is a server span
 * `{method} {route}` that continues the caller's trace (its `traceparent`,
 * read by the registered propagator) and is active while the handler runs: the
 * commands, service calls, store operations and events of the request nest
 * under it. Its request logs carry the trace and span ids. Without an SDK: one
 * check per request. Call before the routes are declared.
 */
export function registerTracing(app: FastifyInstance): void {
  app.addHook('onRequest', (request: TracedRequest, reply, done) => {
    const tracer = activeTracer(HTTP_TRACER_NAME);
    if (tracer === undefined || request.routeOptions.config?.operational) return done();
    const parent = propagation.extract(ROOT_CONTEXT, request.headers, headerGetter);
    const route = request.routeOptions.url ?? 'unmatched';
    const span = tracer.startSpan(
      `${request.method} ${route}`,
      {
        kind: SpanKind.SERVER,
        attributes: {
          'http.request.method': request.method,
          'http.route': route,
          'url.path': request.url.split('?')[0] ?? request.url,
          'backlot.request_id': request.id,
        },
      },
      parent,
    );
    request[SPAN] = { span, context: trace.setSpan(parent, span) };
    // Request log lines (fastify's own "request completed" included) name the trace.
    const { traceId, spanId } = span.spanContext();
    request.log = request.log.child({ trace_id: traceId, span_id: spanId });
    reply.log = request.log;
    done();
  });
  app.addHook('onRoute', (route) => {
    const handler = route.handler;
    route.handler = function traced(this: unknown, request, reply) {
      const active = (request as TracedRequest)[SPAN];
      return active
        ? context.with(active.context, () => handler.call(this as never, request, reply))
        : handler.call(this as never, request, reply);
    };
  });
  app.addHook('onResponse', (request: TracedRequest, reply, done) => {
    const active = request[SPAN];
    if (active) {
      active.span.setAttribute('http.response.status_code', reply.statusCode);
      if (reply.statusCode >= 500) {
        active.span.setAttribute('error.type', String(reply.statusCode));
        active.span.setStatus({ code: SpanStatusCode.ERROR });
      }
      active.span.end();
      request[SPAN] = undefined;
    }
    done();
  });
  app.addHook('onRequestAbort', (request: TracedRequest, done) => {
    const active = request[SPAN];
    if (active) {
      active.span.setAttribute('error.type', 'aborted');
      active.span.setStatus({ code: SpanStatusCode.ERROR, message: 'the client went away' });
      active.span.end();
      request[SPAN] = undefined;
    }
    done();
  });
}

/**
 * The pino `mixin` of the services' loggers: the active span's `trace_id`,
 * `span_id` and `trace_flags` in every line logged inside a traced request,
 * a command or a pipeline record (unless the logger already binds them, as a
 * request's child logger does).
 */
export function traceLogFields(
  _object: object,
  _level: number,
  logger?: { bindings(): Record<string, unknown> },
): Record<string, string> {
  const span = trace.getSpan(context.active());
  if (span === undefined) return {};
  const { traceId, spanId, traceFlags } = span.spanContext();
  if (!trace.isSpanContextValid(span.spanContext()) || logger?.bindings().trace_id !== undefined) return {};
  return { trace_id: traceId, span_id: spanId, trace_flags: `0${traceFlags.toString(16)}` };
}

/** A call to another service in flight: the headers that carry its context, and how to end its span. */
export interface OutgoingCall {
  /** `traceparent` (and `tracestate`) continuing the client span, for the request's headers. */
  headers: Record<string, string>;
  /** Ends the client span with the answer's status, or the error that stopped the call. */
  end(statusCode: number | undefined, error?: unknown): void;
}

/**
 * Starts a client span `{method} {service}` under the active span (a command's,
 * inside the Play API) for a call to another service, with the headers that
 * carry it; `undefined` without an OpenTelemetry SDK.
 */
export function startOutgoingCall(service: string, method: string, url: string): OutgoingCall | undefined {
  const tracer = activeTracer(HTTP_TRACER_NAME);
  if (tracer === undefined) return undefined;
  const active = context.active();
  const span = tracer.startSpan(
    `${method} ${service}`,
    { kind: SpanKind.CLIENT, attributes: { 'http.request.method': method, 'url.full': url, 'peer.service': service } },
    active,
  );
  const headers: Record<string, string> = {};
  propagation.inject(trace.setSpan(active, span), headers);
  return {
    headers,
    end(statusCode, error) {
      if (statusCode !== undefined) span.setAttribute('http.response.status_code', statusCode);
      if (error !== undefined || (statusCode !== undefined && statusCode >= 500)) {
        span.setAttribute('error.type', error === undefined ? String(statusCode) : ((error as Error)?.name ?? 'Error'));
        span.setStatus({
          code: SpanStatusCode.ERROR,
          ...(error instanceof Error ? { message: error.message } : {}),
        });
      }
      span.end();
    },
  };
}
