import { readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEventProducer, embeddedLogTransport } from '@backlot/events';
import { createGateway, type Gateway } from '@backlot/gateway';
import { CommandRegistry } from '@backlot/resilience';
import { createMemoryStore } from '@backlot/storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createCommands } from '../src/commands.ts';
import { appConfigFromEnv } from '../src/config.ts';
import { serviceEvents } from '../src/events.ts';
import { ConfigError } from '../src/http/config.ts';
import { createService, type Service } from '../src/http/service.ts';
import { createRatingsService } from '../src/service.ts';

let catalog: Service;
let service: Service;
let gateway: Gateway;
let base: string;
const emitted: string[] = [];
const quiet = { port: 0, logLevel: 'silent' } as const;
const json = { 'content-type': 'application/json' };

beforeAll(async () => {
  // A stand-in catalog service the command calls.
  catalog = createService({
    name: 'catalog',
    config: quiet,
    routes(app) {
      app.get('/titles/:id', { schema: { params: z.object({ id: z.string() }) } }, async (request) => ({
        id: request.params.id,
        name: 'Our Planet',
      }));
    },
  });
  const catalogUrl = await catalog.listen();

  const dir = await mkdtemp(join(tmpdir(), 'service-events-'));
  const producer = createEventProducer({
    catalog: serviceEvents,
    source: 'ratings',
    transport: embeddedLogTransport({ dir }),
    spool: false,
  });
  service = createRatingsService({
    store: createMemoryStore(),
    events: {
      emit: (name, payload) => {
        emitted.push(name);
        return producer.emit(name, payload);
      },
    },
    commands: createCommands(catalogUrl, new CommandRegistry()),
    config: quiet,
  });
  const config = JSON.parse(readFileSync(new URL('../gateway.json', import.meta.url), 'utf8'));
  config.origins.service.servers = [await service.listen()];
  gateway = createGateway(config);
  base = `http://127.0.0.1:${(await gateway.listen({ port: 0 })).port}`;
});

afterAll(async () => {
  await gateway.close();
  await service.close();
  await catalog.close();
});

describe('the service behind its gateway route', () => {
  it('stores a rating through the storage interface and emits an event', async () => {
    const put = await fetch(`${base}/ratings/p1/70264888`, {
      method: 'PUT',
      headers: json,
      body: JSON.stringify({ rating: 'up' }),
    });
    expect(put.status).toBe(200);
    expect(put.headers.get('x-request-id')).toBeTruthy();
    const get = await fetch(`${base}/ratings/p1/70264888`);
    expect(await get.json()).toMatchObject({ profileId: 'p1', titleId: '70264888', rating: 'up' });
    expect(emitted).toEqual(['rating.set']);
  });

  it('answers a summary with the catalog name, through a command', async () => {
    const response = await fetch(`${base}/titles/70264888/summary?profileId=p1`);
    expect(await response.json()).toEqual({ titleId: '70264888', name: 'Our Planet', rating: 'up' });
  });

  it('falls back when the catalog is down', async () => {
    catalog.chaos.down = true;
    const response = await fetch(`${base}/titles/70264888/summary`);
    expect(await response.json()).toEqual({ titleId: '70264888', name: null, rating: null });
    catalog.chaos.down = false;
  });

  it('rejects a bad rating with 400 naming the field', async () => {
    const response = await fetch(`${base}/ratings/p1/1`, {
      method: 'PUT',
      headers: json,
      body: JSON.stringify({ rating: 'meh' }),
    });
    expect(response.status).toBe(400);
    const answer = (await response.json()) as { message: string; issues: { field: string }[] };
    expect(answer.message).toContain('body.rating');
    expect(answer.issues.map((issue) => issue.field)).toEqual(['body.rating']);
  });
});

describe('what a production service needs', () => {
  it('refuses a body that is not JSON (415), too large (413), or with prototype keys (400)', async () => {
    const url = `${service.url}/ratings/p1/2`;
    expect((await fetch(url, { method: 'PUT', body: 'rating=up' })).status).toBe(415);
    const large = JSON.stringify({ rating: 'up', pad: 'x'.repeat(2 * 1024 * 1024) });
    expect((await fetch(url, { method: 'PUT', headers: json, body: large })).status).toBe(413);
    const poisoned = '{"rating":"up","__proto__":{"polluted":true}}';
    expect((await fetch(url, { method: 'PUT', headers: json, body: poisoned })).status).toBe(400);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('answers /health, /ready and a Prometheus /metrics', async () => {
    expect((await fetch(`${service.url}/health`)).status).toBe(200);
    expect(await (await fetch(`${service.url}/ready`)).json()).toEqual({ service: 'ratings', status: 'ready' });
    const metrics = await (await fetch(`${service.url}/metrics`)).text();
    expect(metrics).toMatch(
      /http_requests_total\{method="PUT",route="\/ratings\/:profileId\/:titleId",status_class="2xx",service="ratings"\} \d+/,
    );
    expect(metrics).toContain('process_resident_memory_bytes');
  });

  it('has no chaos endpoint unless CHAOS_TOKEN is set', async () => {
    expect((await fetch(`${service.url}/_chaos`)).status).toBe(404);
  });

  it('reads its configuration from the environment, naming a bad variable and the fix', () => {
    expect(appConfigFromEnv({ PORT: '9000', LOG_LEVEL: 'info' }).http).toMatchObject({ port: 9000, logLevel: 'info' });
    const error = (() => {
      try {
        appConfigFromEnv({ CATALOG_URL: 'catalog' });
      } catch (caught) {
        return caught;
      }
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).variables).toEqual(['CATALOG_URL']);
    expect((error as Error).message).toContain('CATALOG_URL="catalog" is invalid');
  });
});
