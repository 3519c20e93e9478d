import { createServer, type Server, type Socket } from 'node:net';

/** A raw TCP server on 127.0.0.1 started by a test, and how to stop it. */
export interface RawServer {
  /** `http://127.0.0.1:<port>`: point the adapter's endpoint here. */
  endpoint: string;
  /** Connections accepted so far. */
  connections(): number;
  /** Destroys every connection and stops listening. */
  close(): Promise<void>;
}

/** Starts a raw TCP server on 127.0.0.1 (a free port) that hands each connection to `onSocket`. */
export async function listen(onSocket: (socket: Socket) => void): Promise<RawServer> {
  const sockets = new Set<Socket>();
  let accepted = 0;
  const server: Server = createServer((socket) => {
    accepted++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    onSocket(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    connections: () => accepted,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Accepts connections, reads the requests, and never answers. */
export function hungServer(): Promise<RawServer> {
  return listen((socket) => socket.resume());
}

/**
 * Answers every request with `200` headers announcing `declaredBytes`, sends
 * `sentBytes` of them, then either resets the connection (`'close'`) or goes
 * silent (`'stall'`).
 */
export function midBodyServer(options: {
  declaredBytes: number;
  sentBytes: number;
  after: 'close' | 'stall';
}): Promise<RawServer> {
  return listen((socket) => {
    let seen = '';
    const onData = (chunk: Buffer) => {
      seen += chunk.toString('latin1');
      if (!seen.includes('\r\n\r\n')) return;
      socket.off('data', onData);
      socket.resume();
      socket.write(
        [
          'HTTP/1.1 200 OK',
          'Content-Type: application/octet-stream',
          `Content-Length: ${options.declaredBytes}`,
          'ETag: "0123456789abcdef0123456789abcdef"',
          'Last-Modified: Thu, 01 Jan 2026 00:00:00 GMT',
          '',
          '',
        ].join('\r\n'),
      );
      socket.write(Buffer.alloc(options.sentBytes, 0x61), () => {
        if (options.after === 'close') socket.resetAndDestroy();
      });
    };
    socket.on('data', onData);
  });
}
