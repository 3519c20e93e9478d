import { createServer, get, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { createHystrixStream, toHystrixCommand, toHystrixThreadPool } from '../src/index.js';
import { RollingCounts } from '../src/metrics/rolling-counts.js';
import { TimeoutList } from '../src/timeout/timeout-list.js';
import { exerciseCatalog, registry } from './helpers.js';

const exercise = () => exerciseCatalog(registry);

// Field names and JSON types exactly as Hystrix's SerialHystrixDashboardData writes them, in order.
const HYSTRIX_COMMAND_FIELDS: [string, string][] = [
  ['type', 'string'],
  ['name', 'string'],
  ['group', 'string'],
  ['currentTime', 'number'],
  ['isCircuitBreakerOpen', 'boolean'],
  ['errorPercentage', 'number'],
  ['errorCount', 'number'],
  ['requestCount', 'number'],
  ['rollingCountBadRequests', 'number'],
  ['rollingCountCollapsedRequests', 'number'],
  ['rollingCountEmit', 'number'],
  ['rollingCountExceptionsThrown', 'number'],
  ['rollingCountFailure', 'number'],
  ['rollingCountFallbackEmit', 'number'],
  ['rollingCountFallbackFailure', 'number'],
  ['rollingCountFallbackMissing', 'number'],
  ['rollingCountFallbackRejection', 'number'],
  ['rollingCountFallbackSuccess', 'number'],
  ['rollingCountResponsesFromCache', 'number'],
  ['rollingCountSemaphoreRejected', 'number'],
  ['rollingCountShortCircuited', 'number'],
  ['rollingCountSuccess', 'number'],
  ['rollingCountThreadPoolRejected', 'number'],
  ['rollingCountTimeout', 'number'],
  ['currentConcurrentExecutionCount', 'number'],
  ['rollingMaxConcurrentExecutionCount', 'number'],
  ['latencyExecute_mean', 'number'],
  ['latencyExecute', 'object'],
  ['latencyTotal_mean', 'number'],
  ['latencyTotal', 'object'],
  ['propertyValue_circuitBreakerRequestVolumeThreshold', 'number'],
  ['propertyValue_circuitBreakerSleepWindowInMilliseconds', 'number'],
  ['propertyValue_circuitBreakerErrorThresholdPercentage', 'number'],
  ['propertyValue_circuitBreakerForceOpen', 'boolean'],
  ['propertyValue_circuitBreakerForceClosed', 'boolean'],
  ['propertyValue_circuitBreakerEnabled', 'boolean'],
  ['propertyValue_executionIsolationStrategy', 'string'],
  ['propertyValue_executionIsolationThreadTimeoutInMilliseconds', 'number'],
  ['propertyValue_executionTimeoutInMilliseconds', 'number'],
  ['propertyValue_executionIsolationThreadInterruptOnTimeout', 'boolean'],
  ['propertyValue_executionIsolationThreadPoolKeyOverride', 'object'], // null
  ['propertyValue_executionIsolationSemaphoreMaxConcurrentRequests', 'number'],
  ['propertyValue_fallbackIsolationSemaphoreMaxConcurrentRequests', 'number'],
  ['propertyValue_metricsRollingStatisticalWindowInMilliseconds', 'number'],
  ['propertyValue_requestCacheEnabled', 'boolean'],
  ['propertyValue_requestLogEnabled', 'boolean'],
  ['reportingHosts', 'number'],
  ['threadPool', 'string'],
];
const HYSTRIX_THREAD_POOL_FIELDS: [string, string][] = [
  ['type', 'string'],
  ['name', 'string'],
  ['currentTime', 'number'],
  ['currentActiveCount', 'number'],
  ['currentCompletedTaskCount', 'number'],
  ['currentCorePoolSize', 'number'],
  ['currentLargestPoolSize', 'number'],
  ['currentMaximumPoolSize', 'number'],
  ['currentPoolSize', 'number'],
  ['currentQueueSize', 'number'],
  ['currentTaskCount', 'number'],
  ['rollingCountThreadsExecuted', 'number'],
  ['rollingMaxActiveThreads', 'number'],
  ['rollingCountCommandRejections', 'number'],
  ['propertyValue_queueSizeRejectionThreshold', 'number'],
  ['propertyValue_metricsRollingStatisticalWindowInMilliseconds', 'number'],
  ['reportingHosts', 'number'],
];
const LATENCY_KEYS = ['0', '25', '50', '75', '90', '95', '99', '99.5', '100'];

function fieldsOf(json: Record<string, unknown>): [string, string][] {
  return Object.entries(json).map(([name, value]) => [name, typeof value]);
}

describe('Hystrix dashboard JSON', () => {
  it('writes every HystrixCommand field, with its type, in order', async () => {
    await exercise();
    const [metrics] = registry.commandMetrics();
    const json = toHystrixCommand(metrics as never, registry.groupMetrics()[0]) as unknown as Record<string, unknown>;
    expect(fieldsOf(json)).toEqual(HYSTRIX_COMMAND_FIELDS);
    expect(json.propertyValue_executionIsolationThreadPoolKeyOverride).toBeNull();
    // Same keys as Hystrix's (JavaScript lists integer-like keys first, so "99.5" comes after "100").
    expect(Object.keys(json.latencyExecute as object).sort()).toEqual([...LATENCY_KEYS].sort());
    expect(Object.keys(json.latencyTotal as object).sort()).toEqual([...LATENCY_KEYS].sort());
    for (const value of Object.values(json.latencyExecute as object)) expect(Number.isInteger(value)).toBe(true);
    expect(json).toMatchObject({
      type: 'HystrixCommand',
      name: 'catalog.getTitle',
      group: 'catalog',
      threadPool: 'catalog',
      requestCount: 6,
      errorCount: 2,
      errorPercentage: 33, // an integer, as Hystrix's
      rollingCountSuccess: 4,
      rollingCountFailure: 2,
      rollingCountFallbackSuccess: 2,
      propertyValue_executionTimeoutInMilliseconds: 1000,
      propertyValue_circuitBreakerRequestVolumeThreshold: 20,
      propertyValue_executionIsolationSemaphoreMaxConcurrentRequests: 5,
      propertyValue_metricsRollingStatisticalWindowInMilliseconds: 10_000,
      reportingHosts: 1,
    });
  });

  it('writes every HystrixThreadPool field, with its type, in order', async () => {
    await exercise();
    const json = toHystrixThreadPool(registry.groupMetrics()[0] as never) as unknown as Record<string, unknown>;
    expect(fieldsOf(json)).toEqual(HYSTRIX_THREAD_POOL_FIELDS);
    expect(json).toMatchObject({
      type: 'HystrixThreadPool',
      name: 'catalog',
      currentPoolSize: 5,
      currentCorePoolSize: 5,
      currentMaximumPoolSize: 5,
      currentCompletedTaskCount: 6,
      rollingCountThreadsExecuted: 6,
      propertyValue_queueSizeRejectionThreshold: 2,
    });
  });
});

describe('Hystrix metrics stream (text/event-stream)', () => {
  let server: Server | undefined;
  afterEach(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
    server = undefined;
  });

  async function serve(stream: ReturnType<typeof createHystrixStream>): Promise<string> {
    server = createServer(stream.handler);
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}/hystrix.stream`;
  }

  function connect(url: string): Promise<IncomingMessage> {
    return new Promise((resolve, reject) => get(url, resolve).on('error', reject));
  }

  /** Reads the stream until `count` ping lines have been seen. */
  async function readSamples(response: IncomingMessage, pings: number): Promise<string[]> {
    response.setEncoding('utf8');
    let text = '';
    for await (const chunk of response) {
      text += chunk;
      if ((text.match(/^ping: $/gm) ?? []).length >= pings) break;
    }
    return text.split('\n');
  }

  it('streams data lines of both shapes every interval, with ping lines and no event lines', async () => {
    await exercise();
    const stream = createHystrixStream(registry, { intervalMs: 50 });
    const url = await serve(stream);
    const response = await connect(url);
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('text/event-stream;charset=UTF-8');
    const lines = await readSamples(response, 3);
    response.destroy();
    const data = lines.filter((line) => line.startsWith('data: ')).map((line) => JSON.parse(line.slice(6)));
    expect(data.filter((d) => d.type === 'HystrixCommand').length).toBeGreaterThanOrEqual(3);
    expect(data.filter((d) => d.type === 'HystrixThreadPool').length).toBeGreaterThanOrEqual(3);
    expect(lines.some((line) => line.startsWith('event:'))).toBe(false);
    expect(lines.filter((line) => line !== '' && !line.startsWith('data: ') && line !== 'ping: ')).toEqual([]);
    stream.close();
  });

  it('survives a client that disconnects, keeps serving the others, and caps clients', async () => {
    await exercise();
    const stream = createHystrixStream(registry, { intervalMs: 20, maxClients: 2 });
    const url = await serve(stream);
    const first = await connect(url);
    const second = await connect(url);
    const third = await connect(url);
    expect(third.statusCode).toBe(503);
    third.resume();
    first.destroy(); // the client goes away mid-stream
    await expect.poll(() => stream.clients).toBe(1);
    await sleep(60); // several ticks with a dead client gone
    const lines = await readSamples(second, 2);
    expect(lines.some((line) => line.startsWith('data: {"type":"HystrixCommand"'))).toBe(true);
    const again = await connect(url); // a slot is free again
    expect(again.statusCode).toBe(200);
    again.destroy();
    second.destroy();
    await expect.poll(() => stream.clients).toBe(0);
    stream.close();
  });
});

describe('rolling window', () => {
  it('counts per bucket and forgets buckets as the window moves on', () => {
    let t = 0;
    const counts = new RollingCounts(10_000, 10, () => t);
    counts.add('success');
    t = 1500;
    counts.add('failure');
    counts.add('failure');
    t = 9999;
    expect(counts.health()).toEqual({ totalRequests: 3, errorCount: 2, errorPercentage: 66 });
    t = 10_000; // the first bucket (0–999 ms) has left the window
    expect(counts.health()).toEqual({ totalRequests: 2, errorCount: 2, errorPercentage: 100 });
    t = 12_000;
    expect(counts.health().totalRequests).toBe(0);
    expect(counts.cumulative().failure).toBe(2);
    counts.add('success');
    counts.reset();
    expect(counts.count('success')).toBe(0);
  });

  it('keeps the highest concurrency per bucket', () => {
    let t = 0;
    const counts = new RollingCounts(1000, 10, () => t);
    counts.observeConcurrency(5);
    counts.observeConcurrency(3);
    t = 500;
    counts.observeConcurrency(4);
    expect(counts.maxConcurrency()).toBe(5);
    t = 1050;
    expect(counts.maxConcurrency()).toBe(4);
  });
});

describe('TimeoutList', () => {
  it('times out only entries still linked, in deadline order, with one timer', async () => {
    const list = new TimeoutList(20);
    const fired: string[] = [];
    const entry = (name: string) => ({
      deadline: 0,
      prev: undefined,
      next: undefined,
      linked: false,
      onTimeout: () => fired.push(name),
    });
    const a = entry('a');
    const b = entry('b');
    const c = entry('c');
    list.add(a, performance.now());
    list.add(b, performance.now());
    list.add(c, performance.now());
    list.remove(b);
    expect(list.size).toBe(2);
    await sleep(50);
    expect(fired).toEqual(['a', 'c']);
    expect(list.size).toBe(0);
    list.clear();
  });
});
