import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { faultProxy, hungServer } from '@backlot/storage/testing';
import { Client } from 'cassandra-driver';
import { afterAll, describe, expect, it } from 'vitest';
import { CassandraUnreachableError } from '../src/data/cassandra.ts';
import { type PlatformCore, startCore } from '../src/platform.ts';

const cassandraOff = process.env.BACKLOT_CASSANDRA === 'off';
const [node = '127.0.0.1:9042'] = (
  process.env.BACKLOT_CASSANDRA_CONTACT_POINTS ?? `127.0.0.1:${process.env.BACKLOT_CASSANDRA_PORT ?? '9042'}`
).split(',');

/** A port of 127.0.0.1 nothing listens on (a server's, closed again). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const ready = async (url: string) => (await fetch(`${url}/ready`)).status;

describe.skipIf(cassandraOff)('the Play platform on Cassandra: start and readiness', () => {
  const keyspaces: string[] = [];
  const cores: PlatformCore[] = [];
  afterAll(async () => {
    for (const core of cores) await core.close();
    const raw = new Client({ contactPoints: [node], localDataCenter: 'datacenter1' });
    try {
      for (const keyspace of keyspaces) await raw.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`);
    } finally {
      await raw.shutdown();
    }
  });

  it('no node at the address: the start fails with CASSANDRA_UNREACHABLE (exit code 78), nothing listens', async () => {
    const port = await closedPort();
    const error = await startCore({
      admin: false,
      cassandra: { contactPoints: [`127.0.0.1:${port}`], timeoutMs: 2000 },
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CassandraUnreachableError);
    expect(error).toMatchObject({ code: 'CASSANDRA_UNREACHABLE', exitCode: 78 });
    expect((error as Error).message).toContain(`127.0.0.1:${port}`);
    expect((error as Error).message).toContain('BACKLOT_CASSANDRA_CONTACT_POINTS');
  });

  it('a node that accepts the connection and never answers: the same error, within the deadline, no hang', async () => {
    const silent = await hungServer(); // reads the handshake, answers nothing
    try {
      const error = await startCore({
        admin: false,
        cassandra: { contactPoints: [new URL(silent.endpoint).host], timeoutMs: 1000 },
      }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CassandraUnreachableError);
      expect(silent.connections()).toBeGreaterThan(0);
    } finally {
      await silent.close();
    }
  });

  it('/ready of the services on Cassandra turns 503 while it is cut off, and 200 again once it is back', {
    timeout: 90_000,
  }, async () => {
    const proxy = await faultProxy(node);
    const keyspace = `play_${randomUUID().slice(0, 8)}`;
    keyspaces.push(keyspace);
    const core = await startCore({
      admin: false,
      cassandra: { contactPoints: [`127.0.0.1:${proxy.port}`], keyspace, timeoutMs: 2000 },
    });
    cores.push(core);
    const { bookmarks, license, views, subscriber } = core.services;
    for (const service of [bookmarks, license, views, subscriber]) expect(await ready(service.url)).toBe(200);

    await proxy.cut(); // every connection to Cassandra reset, no new one accepted
    for (const service of [bookmarks, license, views]) {
      await expect.poll(() => ready(service.url), { timeout: 20_000, interval: 250 }).toBe(503);
    }
    expect(await ready(subscriber.url)).toBe(200); // not on Cassandra

    await proxy.restore();
    try {
      for (const service of [bookmarks, license, views]) {
        await expect.poll(() => ready(service.url), { timeout: 60_000, interval: 500 }).toBe(200);
      }
    } finally {
      await core.close();
      cores.pop();
      await proxy.close();
    }
  });
});
