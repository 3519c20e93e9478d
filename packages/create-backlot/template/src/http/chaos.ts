import { timingSafeEqual } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';

/**
 * Faults a service can be told to inject: answer slowly, fail a share of
 * requests, or be down altogether (connections dropped). Set in process
 * through `service.chaos`, or over HTTP at `/_chaos` when the service has a
 * chaos token (the endpoint does not exist otherwise).
 */
export interface Chaos {
  latencyMs: number;
  failureRate: number;
  down: boolean;
}

const chaosSchema = z.strictObject({
  latencyMs: z.number().int().min(0).max(60_000).optional(),
  failureRate: z.number().min(0).max(1).optional(),
  down: z.boolean().optional(),
});

const sameToken = (given: string | string[] | undefined, expected: string) => {
  if (typeof given !== 'string') return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
};

/**
 * Applies `chaos` to every route but the operational ones (`config.operational`:
 * health, readiness, metrics, chaos itself), and with a `token` serves
 * `GET|PUT /_chaos` to callers sending it in `x-chaos-token` (401 without the
 * header, 403 with another value).
 */
export function registerChaos(app: FastifyInstance, chaos: Chaos, token: string | undefined): void {
  app.addHook('onRequest', async (request, reply) => {
    if (request.routeOptions.config.operational) return;
    if (chaos.down) {
      // A dead process: the connection just drops.
      reply.hijack();
      request.raw.socket.destroy();
      return reply;
    }
    if (chaos.latencyMs > 0) await sleep(chaos.latencyMs, undefined, { signal: request.clientGone });
    if (chaos.failureRate > 0 && Math.random() < chaos.failureRate) {
      return reply.code(500).send({ error: 'injected_failure', message: 'chaos: injected failure' });
    }
  });
  if (token === undefined) return;

  const typed = app.withTypeProvider<ZodTypeProvider>();
  const config = { operational: true };
  const authorize = async (request: FastifyRequest, reply: FastifyReply) => {
    const given = request.headers['x-chaos-token'];
    if (given === undefined) {
      return reply.code(401).send({ error: 'unauthorized', message: 'chaos needs the x-chaos-token header' });
    }
    if (!sameToken(given, token)) return reply.code(403).send({ error: 'forbidden', message: 'wrong x-chaos-token' });
  };
  typed.get('/_chaos', { config, onRequest: authorize }, async () => ({ chaos }));
  typed.put('/_chaos', { config, onRequest: authorize, schema: { body: chaosSchema } }, async (request) => {
    Object.assign(chaos, request.body);
    return { chaos };
  });
}
