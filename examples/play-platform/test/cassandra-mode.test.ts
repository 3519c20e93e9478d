import { randomUUID } from 'node:crypto';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { Client } from 'cassandra-driver';
import { afterAll, describe, expect, it } from 'vitest';
import { CassandraUnreachableError } from '../src/data/cassandra.ts';
import { type PlatformCore, startCore } from '../src/platform.ts';

const cassandraOff = process.env.BACKLOT_CASSANDRA === 'off';
const [node = '127.0.0.1:9042'] = (
  process.env.BACKLOT_CASSANDRA_CONTACT_POINTS ?? `127.0.0.1:${process.env.BACKLOT_CASSANDRA_PORT ?? '9042'}`
).split(',');
const [nodeHost = '127.0.0.1', nodePort = '9042'] = node.split(':');

/** A TCP server on a free port of 127.0.0.1; `close()` destroys its connections too. */
async function tcpServer(onSocket: (socket: Socket) => void, port = 0) {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    onSocket(socket);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  return {
    port: (server.address() as { port: number }).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A proxy to the shared Cassandra node that a test can cut (every connection reset) and restore on the same port. */
const proxyTo = (port?: number) =>
  tcpServer((socket) => {
    const upstream = connect(Number(nodePort), nodeHost);
    upstream.on('error', () => socket.destroy());
    socket.on('close', () => upstream.destroy());
    upstream.on('close', () => socket.destroy());
    socket.pipe(upstream).pipe(socket);
  }, port);

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
    const closed = await tcpServer(() => {});
    await closed.close(); // a port nothing listens on
    const error = await startCore({
      admin: false,
      cassandra: { contactPoints: [`127.0.0.1:${closed.port}`], timeoutMs: 2000 },
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CassandraUnreachableError);
    expect(error).toMatchObject({ code: 'CASSANDRA_UNREACHABLE', exitCode: 78 });
    expect((error as Error).message).toContain(`127.0.0.1:${closed.port}`);
    expect((error as Error).message).toContain('BACKLOT_CASSANDRA_CONTACT_POINTS');
  });

  it('a node that accepts the connection and never answers: the same error, within the deadline, no hang', async () => {
    let accepted = 0;
    const silent = await tcpServer((socket) => {
      accepted++;
      socket.resume(); // reads the handshake, answers nothing
    });
    try {
      const error = await startCore({
        admin: false,
        cassandra: { contactPoints: [`127.0.0.1:${silent.port}`], timeoutMs: 1000 },
      }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CassandraUnreachableError);
      expect(accepted).toBeGreaterThan(0);
    } finally {
      await silent.close();
    }
  });

  it('/ready of the services on Cassandra turns 503 while it is cut off, and 200 again once it is back', {
    timeout: 90_000,
  }, async () => {
    let proxy = await proxyTo();
    const keyspace = `play_${randomUUID().slice(0, 8)}`;
    keyspaces.push(keyspace);
    const core = await startCore({
      admin: false,
      cassandra: { contactPoints: [`127.0.0.1:${proxy.port}`], keyspace, timeoutMs: 2000 },
    });
    cores.push(core);
    const { bookmarks, license, views, subscriber } = core.services;
    for (const service of [bookmarks, license, views, subscriber]) expect(await ready(service.url)).toBe(200);

    await proxy.close(); // every connection to Cassandra reset, no new one accepted
    for (const service of [bookmarks, license, views]) {
      await expect.poll(() => ready(service.url), { timeout: 20_000, interval: 250 }).toBe(503);
    }
    expect(await ready(subscriber.url)).toBe(200); // not on Cassandra

    proxy = await proxyTo(proxy.port);
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
