import { createServer, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { schemaRegistry } from '../src/index.js';
import { registryFailure as failure, startRegistryProxy } from './registry-helpers.js';

// The client against registries that misbehave: hangs, fails with 5xx, refuses, answers nonsense.
// These are local HTTP servers standing in for a broken registry; the working one is Apicurio
// (registry.test.ts).

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

/** An HTTP server on a free port answering every request with `status` and `body`; counts requests. */
async function answering(status: number, body: string): Promise<{ url: string; hits: () => number }> {
  let hits = 0;
  const server = createServer((request, response) => {
    hits++;
    request.resume();
    response.writeHead(status, { 'content-type': 'application/json' }).end(body);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}/apis/ccompat/v7`, hits: () => hits };
}

const schema = { schemaType: 'JSON' as const, schema: '{"type":"object"}' };

describe('the registry client against a misbehaving registry', () => {
  it('gives up on a registry that accepts connections and never answers, after its deadline and retries', async () => {
    const proxy = await startRegistryProxy(new URL('http://127.0.0.1:1'));
    proxy.mode('stall');
    try {
      const client = schemaRegistry({
        url: `http://127.0.0.1:${proxy.port}/apis/ccompat/v7`,
        timeoutMs: 200,
        retries: 1,
        retryDelayMs: 10,
      });
      const error = await failure(client.register('play.started', schema));
      expect(error.code).toBe('BACKLOT_EVENTS_REGISTRY_UNREACHABLE');
      expect(error.retryable).toBe(true);
      expect(error.subject).toBe('play.started');
      expect(error.message).toMatch(/no answer within 200 ms \(2 attempt\(s\)\)/);
      expect(proxy.connections).toBeGreaterThanOrEqual(1);
    } finally {
      await proxy.close();
    }
  });

  it('retries 5xx a bounded number of times, then fails retryable, naming subject and status', async () => {
    const registry = await answering(503, '{"message":"overloaded","error_code":50301}');
    const client = schemaRegistry({ url: registry.url, retries: 2, retryDelayMs: 5 });
    const error = await failure(client.register('bookmark.set', schema));
    expect(registry.hits()).toBe(3);
    expect(error).toMatchObject({
      code: 'BACKLOT_EVENTS_REGISTRY_UNREACHABLE',
      status: 503,
      registryCode: 50301,
      subject: 'bookmark.set',
      retryable: true,
    });
    // A failure is not cached: the next call asks again.
    await failure(client.register('bookmark.set', schema));
    expect(registry.hits()).toBe(6);
  });

  it('does not retry a refusal (4xx), which is final', async () => {
    const registry = await answering(409, '{"message":"Incompatible artifact","error_code":409}');
    const client = schemaRegistry({ url: registry.url, retries: 3, retryDelayMs: 5 });
    const error = await failure(client.register('play.started', schema));
    expect(registry.hits()).toBe(1);
    expect(error).toMatchObject({ code: 'BACKLOT_EVENTS_REGISTRY_REFUSED', status: 409, retryable: false });
    expect(error.message).toMatch(/subject 'play.started': HTTP 409 \(error_code 409\): Incompatible artifact/);
  });

  it('reports an unknown schema id as UNKNOWN_SCHEMA and a nonsense answer as BAD_RESPONSE', async () => {
    const missing = await answering(404, '{"message":"Schema 99 not found.","error_code":40403}');
    const error = await failure(schemaRegistry({ url: missing.url }).schemaById(99));
    expect(error).toMatchObject({ code: 'BACKLOT_EVENTS_REGISTRY_UNKNOWN_SCHEMA', schemaId: 99, registryCode: 40403 });
    const nonsense = await answering(200, '<html>not a registry</html>');
    const bad = await failure(schemaRegistry({ url: nonsense.url }).register('s', schema));
    expect(bad.code).toBe('BACKLOT_EVENTS_REGISTRY_BAD_RESPONSE');
    expect(bad.message).toMatch(/apis\/ccompat\/v7/);
  });

  it('fails fast and retryable when nothing listens', async () => {
    const client = schemaRegistry({ url: 'http://127.0.0.1:1/apis/ccompat/v7', retries: 1, retryDelayMs: 5 });
    const error = await failure(client.schemaById(1));
    expect(error.code).toBe('BACKLOT_EVENTS_REGISTRY_UNREACHABLE');
    expect(error.message).toMatch(/connection failed/);
  });
});
