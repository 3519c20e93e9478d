import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance, LogController } from 'fastify';
import {
  hasZodFastifySchemaValidationErrors,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import type { Registry } from 'prom-client';
import { type Chaos, registerChaos } from './chaos.ts';
import { type ServiceConfig, serviceConfigFromEnv } from './config.ts';
import { registerTracing, traceLogFields } from './tracing.ts';

export type { ServiceConfig };

import { registerMetrics } from './metrics.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /**
     * Aborted when the client goes away before its answer is written: hand it
     * to every I/O the request does. (fastify's own `request.clientGone` follows
     * the request stream, which closes once the body has been read.)
     */
    clientGone: AbortSignal;
  }
  interface FastifyContextConfig {
    /** Health, readiness, metrics and chaos routes: no chaos applied to them. */
    operational?: boolean;
  }
}

/** A fastify instance with zod schemas as its type provider. */
export type ServiceApp = FastifyInstance<Server, IncomingMessage, ServerResponse, FastifyBaseLogger, ZodTypeProvider>;

/** A dependency `GET /ready` checks: resolves when reachable, rejects or times out otherwise. */
export interface ReadinessCheck {
  name: string;
  check(signal: AbortSignal): Promise<unknown>;
}

/** Options of {@link createService}. */
export interface ServiceOptions {
  /** The service's name, in logs (`service`), metrics labels and error answers. */
  name: string;
  /** Its settings (see `serviceConfigFromEnv`); unset ones take the defaults of `serviceEnvSchema`. */
  config?: Partial<ServiceConfig>;
  /** Declares the routes, with zod schemas for params, query and body. */
  routes(app: ServiceApp): void;
  /** Dependencies `GET /ready` checks, each within `readinessTimeoutMs` (default 1000). */
  readiness?: ReadinessCheck[];
  readinessTimeoutMs?: number;
  /** Node's default process metrics on `/metrics` too (default true). */
  defaultMetrics?: boolean;
}

/** A running (or ready to run) service. */
export interface Service {
  readonly name: string;
  readonly app: ServiceApp;
  /** Faults to inject (see `chaos.ts`). */
  readonly chaos: Chaos;
  /** Its Prometheus registry (served at `/metrics`). */
  readonly metrics: Registry;
  /** `http://host:port` once listening. */
  readonly url: string;
  /** True from the start of {@link Service.close}: `/ready` answers 503. */
  readonly draining: boolean;
  /** Listens on `port`/`host` (default: the config's). Resolves with the URL. */
  listen(port?: number, host?: string): Promise<string>;
  /**
   * Drains: `/ready` turns 503 (for `drainDelayMs`, while other routes still
   * answer), then the listener stops accepting, in-flight requests finish,
   * and connections still busy after `drainTimeoutMs` are cut. Idempotent.
   */
  close(): Promise<void>;
}

/** The defaults: those of `serviceEnvSchema`, stated once there. */
const DEFAULTS: ServiceConfig = serviceConfigFromEnv({});

const CLIENT_ERRORS: Record<number, string> = {
  404: 'not_found',
  413: 'body_too_large',
  415: 'unsupported_media_type',
};

/** What a client sees for a failed request: a stable `error` code, a message, and for bad input the fields. */
export interface ErrorAnswer {
  error: string;
  message: string;
  issues?: { field: string; message: string }[];
  requestId?: string;
}

/**
 * Creates a JSON microservice on fastify: zod-validated routes (a bad field
 * is a 400 naming it), JSON bodies only (415 otherwise, 413 above the limit,
 * 400 for `__proto__`/`constructor` keys), pino request logs carrying the
 * `x-request-id` (echoed in the answer), `GET /health` (liveness), `GET
 * /ready` (readiness: not draining and every dependency reachable),
 * `GET /metrics` (Prometheus), chaos controls, and a graceful drain.
 */
export function createService(options: ServiceOptions): Service {
  const config = { ...DEFAULTS, ...options.config };
  const { name } = options;
  const app = Fastify({
    // Silent: no logger at all, so requests do not even create child loggers.
    // Every line logged inside a traced request, command or event names its trace (`trace_id`, `span_id`).
    logger:
      config.logLevel === 'silent'
        ? false
        : { level: config.logLevel, base: { service: options.name }, mixin: traceLogFields },
    requestIdHeader: 'x-request-id',
    logController: new LogController({ requestIdLogLabel: 'requestId' }),
    genReqId: () => randomUUID(),
    bodyLimit: config.bodyLimitBytes,
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    return503OnClosing: true,
  }).withTypeProvider<ZodTypeProvider>();
  // Before any route: each request's server span is active while its handler runs.
  registerTracing(app);
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  // JSON only: a text/plain body is refused with 415 rather than read as a string.
  app.removeContentTypeParser('text/plain');

  const chaos: Chaos = { latencyMs: 0, failureRate: 0, down: false };
  let draining = false;
  let url = '';

  // The request id (the caller's `x-request-id`, else a new UUID) is in every log line and in the answer.
  app.decorateRequest('clientGone', undefined as unknown as AbortSignal);
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
    const gone = new AbortController();
    request.clientGone = gone.signal;
    reply.raw.once('close', () => {
      if (!reply.raw.writableFinished) gone.abort();
    });
  });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (hasZodFastifySchemaValidationErrors(error)) {
      const issues = error.validation.map((issue) => ({
        field: [error.validationContext, ...issue.instancePath.split('/').filter(Boolean)].join('.'),
        message: issue.message,
      }));
      const message = issues.map((issue) => `${issue.field}: ${issue.message}`).join('; ');
      return reply.code(400).send({ error: 'bad_request', message, issues, requestId: request.id });
    }
    const status = error.statusCode ?? 500;
    if (status < 500) {
      return reply.code(status).send({
        error: CLIENT_ERRORS[status] ?? 'bad_request',
        message: error.message,
        requestId: request.id,
      });
    }
    request.log.error({ err: error }, 'request failed');
    return reply.code(status).send({ error: 'internal', message: `${name}: ${error.message}`, requestId: request.id });
  });
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({ error: 'not_found', message: `${name}: no route ${request.method} ${request.url}` }),
  );

  const operational = { config: { operational: true } };
  app.get('/health', operational, async (_request, reply) =>
    reply.code(chaos.down ? 503 : 200).send({ service: name, status: chaos.down ? 'down' : 'up' }),
  );
  const readiness = options.readiness ?? [];
  const readinessTimeoutMs = options.readinessTimeoutMs ?? 1000;
  app.get('/ready', operational, async (_request, reply) => {
    if (draining) return reply.code(503).send({ service: name, status: 'draining' });
    if (chaos.down) return reply.code(503).send({ service: name, status: 'down' });
    const failed: Record<string, string> = {};
    await Promise.all(
      readiness.map(async ({ name: dependency, check }) => {
        try {
          await check(AbortSignal.timeout(readinessTimeoutMs));
        } catch (error) {
          failed[dependency] = (error as Error).message;
        }
      }),
    );
    const ready = Object.keys(failed).length === 0;
    return reply
      .code(ready ? 200 : 503)
      .send({ service: name, status: ready ? 'ready' : 'unready', ...(ready ? {} : { failed }) });
  });
  const metrics = registerMetrics(app, name, options.defaultMetrics ?? true);
  registerChaos(app, chaos, config.chaosToken);
  options.routes(app);

  let closing: Promise<void> | undefined;
  return {
    name,
    app,
    chaos,
    metrics,
    get url() {
      return url;
    },
    get draining() {
      return draining;
    },
    async listen(port = config.port, host = config.host) {
      await app.listen({ port, host });
      url = `http://${host.includes(':') ? `[${host}]` : host}:${(app.server.address() as AddressInfo).port}`;
      return url;
    },
    close() {
      closing ??= (async () => {
        draining = true;
        if (config.drainDelayMs > 0 && app.server.listening) await sleep(config.drainDelayMs);
        // In-flight requests finish; past the deadline their connections are cut.
        const deadline = setTimeout(() => app.server.closeAllConnections(), config.drainTimeoutMs);
        try {
          await app.close();
        } finally {
          clearTimeout(deadline);
        }
      })();
      return closing;
    },
  };
}
