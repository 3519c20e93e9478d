import { createServer, type Socket } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trackedSockets } from '../src/transport/kafka/tracked-sockets.js';

let port = 0;
const server = createServer((socket) => socket.on('error', () => {}));

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as { port: number }).port;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

/** No TLS: kafkajs passes no `ssl` then. */
const plain = undefined as unknown as ConnectionOptions;

const connect = (sockets: ReturnType<typeof trackedSockets>) =>
  new Promise<Socket>((resolve) => {
    const socket: Socket = sockets.factory({ host: '127.0.0.1', port, ssl: plain, onConnect: () => resolve(socket) });
  });

describe('a Kafka producer’s tracked sockets', () => {
  it('cuts every open socket, fails one still in use with an error, and opens no more once cut', async () => {
    const sockets = trackedSockets();
    const ended = await connect(sockets);
    const busy = await connect(sockets);
    const errors: Error[] = [];
    busy.on('error', (error) => errors.push(error));
    ended.end();
    sockets.destroyAll();
    await new Promise((resolve) => setImmediate(resolve));
    expect([ended.destroyed, busy.destroyed]).toEqual([true, true]);
    expect(errors.map((error) => error.message)).toEqual([
      'closed by its producer with requests still queued; they are not sent',
    ]);
    // kafkajs's retry would reconnect: refused.
    expect(() => sockets.factory({ host: '127.0.0.1', port, ssl: plain, onConnect: () => {} })).toThrow(/closed/);
  });
});
