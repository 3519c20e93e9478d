import { readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEventProducer, embeddedLogTransport } from '@backlot/events';
import { createGateway, type Gateway } from '@backlot/gateway';
import { CommandRegistry } from '@backlot/resilience';
import { createMemoryStore } from '@backlot/storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCommands } from '../src/commands.ts';
import { serviceEvents } from '../src/events.ts';
import type { HttpService } from '../src/lib/http-service.ts';
import { createService } from '../src/service.ts';

let catalog: HttpService;
let service: HttpService;
let gateway: Gateway;
let base: string;
const emitted: string[] = [];

beforeAll(async () => {
  // A stand-in catalog service the command calls.
  const { createHttpService } = await import('../src/lib/http-service.ts');
  catalog = createHttpService('catalog', [
    {
      method: 'GET',
      path: '/titles/:id',
      handle: ({ params }) => ({ status: 200, body: { id: params.id, name: 'Our Planet' } }),
    },
  ]);
  const catalogUrl = await catalog.listen();

  const dir = await mkdtemp(join(tmpdir(), 'service-events-'));
  const producer = createEventProducer({
    catalog: serviceEvents,
    source: 'ratings',
    transport: embeddedLogTransport({ dir }),
    spool: false,
  });
  service = createService({
    store: createMemoryStore(),
    events: {
      emit: (name, payload) => {
        emitted.push(name);
        return producer.emit(name, payload);
      },
    },
    commands: createCommands(catalogUrl, new CommandRegistry()),
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
    const put = await fetch(`${base}/ratings/p1/70264888`, { method: 'PUT', body: JSON.stringify({ rating: 'up' }) });
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
    const response = await fetch(`${base}/ratings/p1/1`, { method: 'PUT', body: JSON.stringify({ rating: 'meh' }) });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { message: string }).message).toContain('rating');
  });
});
