import { createServer, get, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  CommandRegistry,
  createHystrixStream,
  defineCollapser,
  type HystrixCollapserJson,
  toHystrixCollapser,
} from '../src/index.js';

let server: Server | undefined;
afterEach(async () => {
  const current = server;
  server = undefined;
  if (!current) return;
  current.closeAllConnections();
  await new Promise((resolve) => current.close(resolve));
});

async function firstSample(registry: CommandRegistry): Promise<unknown[]> {
  const stream = createHystrixStream(registry, { intervalMs: 1000 });
  server = createServer(stream.handler);
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hystrix.stream`;
  const response = await new Promise<IncomingMessage>((resolve, reject) => get(url, resolve).on('error', reject));
  response.setEncoding('utf8');
  let text = '';
  for await (const chunk of response) {
    text += chunk;
    if (/^ping: $/m.test(text)) break;
  }
  response.destroy();
  stream.close();
  return text
    .split('\n')
    .filter((line) => line.startsWith('data: '))
    .map((line) => JSON.parse(line.slice(6)) as unknown);
}

describe('collapsers on the Hystrix stream', () => {
  it('emits one HystrixCollapser sample per collapser, field for field', async () => {
    const registry = new CommandRegistry();
    const sizes: number[] = [];
    const ratings = defineCollapser({
      name: 'ratings',
      registry,
      windowMs: 5,
      maxBatchSize: 50,
      batch: async (ids: readonly string[]) => {
        sizes.push(ids.length);
        return ids.map((id) => id.length);
      },
    });
    // Batch 1: four calls, three distinct keys (one duplicate). Batch 2: one call.
    await Promise.all([ratings('a'), ratings('bb'), ratings('a'), ratings('ccc')]);
    await ratings('dddd');
    expect(sizes).toEqual([3, 1]);

    const samples = await firstSample(registry);
    const collapsers = samples.filter((s) => (s as { type: string }).type === 'HystrixCollapser');
    expect(collapsers).toHaveLength(1);
    const sample = collapsers[0] as HystrixCollapserJson;
    expect(Object.keys(sample)).toEqual([
      'type',
      'name',
      'currentTime',
      'rollingCountRequestsBatched',
      'rollingCountBatches',
      'rollingCountResponsesFromCache',
      'batchSize_mean',
      'batchSize',
      'propertyValue_requestCacheEnabled',
      'propertyValue_maxRequestsInBatch',
      'propertyValue_timerDelayInMilliseconds',
      'reportingHosts',
    ]);
    expect(sample).toMatchObject({
      type: 'HystrixCollapser',
      name: 'ratings',
      rollingCountRequestsBatched: 5,
      rollingCountBatches: 2,
      rollingCountResponsesFromCache: 1,
      batchSize_mean: 2,
      propertyValue_maxRequestsInBatch: 50,
      propertyValue_timerDelayInMilliseconds: 5,
      reportingHosts: 1,
    });
    // (JSON puts integer-like keys first: the set of keys is Hystrix's, the order of '99.5' may differ.)
    expect(Object.keys(sample.batchSize).sort()).toEqual(['100', '25', '50', '75', '90', '95', '99', '99.5']);
    expect(sample.batchSize['100']).toBe(3);
    expect(sample.batchSize['25']).toBe(1);
    expect(ratings.metrics().cumulative).toEqual({ requestsBatched: 5, batches: 2, responsesFromCache: 1 });
  });

  it('forgets a disposed collapser, and lets a redefined one take its name', async () => {
    const registry = new CommandRegistry();
    const batch = async (ids: readonly number[]) => ids;
    const first = defineCollapser({ name: 'ids', registry, batch });
    const second = defineCollapser({ name: 'ids', registry, batch });
    await second(1);
    expect(registry.collapserMetrics().map((m) => [m.name, m.requestsBatched])).toEqual([['ids', 1]]);
    first.dispose(); // no longer the registered one: nothing changes
    expect(registry.collapserMetrics()).toHaveLength(1);
    second.dispose();
    expect(registry.collapserMetrics()).toEqual([]);
  });

  it('maps an empty window to zeros', () => {
    const registry = new CommandRegistry();
    const idle = defineCollapser({ name: 'idle', registry, batch: async (ids: readonly number[]) => ids });
    const sample = toHystrixCollapser(idle.metrics(), 0);
    expect(sample).toMatchObject({ rollingCountRequestsBatched: 0, rollingCountBatches: 0, batchSize_mean: 0 });
    expect(Object.values(sample.batchSize)).toEqual(Array(8).fill(0));
  });
});
