import { once } from 'node:events';
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { platformaticKafkaTransport } from '../src/platformatic.js';
import { cutSocket } from '../src/transport/cut-socket.js';

let server: Server | undefined;

afterEach(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

/** A peer that accepts connections and does not read them until `read()`; counts what it got. */
async function stalledPeer() {
  const accepted: Socket[] = [];
  const counts = { connections: 0, bytes: 0 };
  server = createServer((socket) => {
    counts.connections++;
    socket.pause();
    socket.on('data', (chunk: Buffer) => {
      counts.bytes += chunk.length;
    });
    socket.on('error', () => {});
    accepted.push(socket);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  return {
    port,
    counts,
    /** Reads again, and resolves once every connection it had is closed. */
    async read(): Promise<void> {
      await Promise.all(
        accepted.map((socket) => {
          // (`events.once` would reject on the reset's ECONNRESET: only the close matters here.)
          const closed = new Promise<void>((resolve) =>
            socket.closed ? resolve() : socket.on('close', () => resolve()),
          );
          socket.resume();
          return closed;
        }),
      );
    },
  };
}

describe('cutting a producer’s socket', () => {
  it('drops what the kernel had not sent yet: a peer that reads again gets only what it already held', async () => {
    const peer = await stalledPeer();
    const socket = tcpConnect(peer.port, '127.0.0.1');
    socket.on('error', () => {});
    await once(socket, 'connect');
    const sent = 8 * 1024 * 1024;
    socket.write(Buffer.alloc(sent, 1));
    // Let the kernel take what its buffers hold (megabytes on loopback).
    await new Promise((resolve) => setTimeout(resolve, 100));
    const errors: Error[] = [];
    socket.on('error', (error) => errors.push(error));
    cutSocket(socket, new Error('cut with requests queued'));
    await peer.read();
    // A plain close would deliver everything the kernel had accepted; a reset, at most the peer's receive buffer.
    expect(peer.counts.bytes).toBeLessThan(sent / 4);
    expect(socket.destroyed).toBe(true);
    expect(errors.map((error) => error.message)).toEqual(['cut with requests queued']);
  });

  it('a closed @platformatic/kafka producer opens no connection and sends nothing', async () => {
    const peer = await stalledPeer();
    const producer = platformaticKafkaTransport({
      brokers: [`127.0.0.1:${peer.port}`],
      connectionTimeoutMs: 500,
      requestTimeoutMs: 500,
    }).producer();
    await producer.close();
    const sent = producer.send('events', [{ key: 'k', value: Buffer.from('v'), timestamp: Date.now() }]);
    await expect(sent).rejects.toThrow(/closed/);
    expect(peer.counts).toEqual({ connections: 0, bytes: 0 });
  });

  it('a socket cut while still connecting never connects afterwards (no late connect for the client to take as live)', async () => {
    const peer = await stalledPeer();
    const socket = tcpConnect({ host: '127.0.0.1', port: peer.port });
    const events: string[] = [];
    socket.on('connect', () => events.push('connect'));
    socket.on('error', () => events.push('error'));
    const closed = new Promise((resolve) => socket.once('close', resolve));
    expect(socket.connecting).toBe(true);
    cutSocket(socket, new Error('closed by its producer'));
    await closed;
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(events).toEqual(['error']);
    expect(socket.destroyed).toBe(true);
  });
});
