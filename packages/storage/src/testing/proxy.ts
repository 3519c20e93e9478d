import { connect, createServer, type Server, type Socket } from 'node:net';

/** A TCP proxy on 127.0.0.1 in front of a real server, which a fault test turns off and on. */
export interface FaultProxy {
  /** The proxy's port on 127.0.0.1 (point the client at `127.0.0.1:<port>`). */
  readonly port: number;
  /** Connections accepted so far. */
  connections(): number;
  /**
   * Handshake-then-stall: open connections stay open but nothing more is
   * forwarded either way (a hung node, a network partition without resets);
   * new connections are accepted and stall too.
   */
  stall(): void;
  /** Forwards again after {@link FaultProxy.stall} (what was held is delivered). */
  resume(): void;
  /** A stopped node: every connection reset and the port closed (connections are refused). */
  cut(): Promise<void>;
  /** Listens again on the same port after {@link FaultProxy.cut}, forwarding as before. */
  restore(): Promise<void>;
  /** Closes everything. */
  close(): Promise<void>;
}

/**
 * Starts a {@link FaultProxy} to `target` (`host:port`) on a free port of
 * 127.0.0.1, or on `port`. For fault tests against a shared server that must
 * not be stopped: cut or stall the proxy instead.
 *
 * @example
 * ```ts
 * const proxy = await faultProxy('127.0.0.1:9042');
 * const store = await createCassandraStore({ contactPoints: [`127.0.0.1:${proxy.port}`], keyspace: 'ks' });
 * proxy.stall(); // statements now fail with a retryable 'deadline' BackendError after timeoutMs
 * ```
 */
export async function faultProxy(target: string, port = 0): Promise<FaultProxy> {
  const separator = target.lastIndexOf(':');
  const host = target.slice(0, separator);
  const targetPort = Number(target.slice(separator + 1));
  if (separator <= 0 || !Number.isInteger(targetPort)) {
    throw new TypeError(`faultProxy: target must be 'host:port', e.g. '127.0.0.1:9042' (got '${target}')`);
  }
  const pairs = new Set<[Socket, Socket]>();
  let stalled = false;
  let accepted = 0;
  let server: Server | undefined;

  const forward = (from: Socket, to: Socket) => {
    from.on('data', (chunk: Buffer) => {
      if (!to.destroyed) to.write(chunk);
    });
  };
  const onConnection = (client: Socket) => {
    accepted++;
    const upstream = connect(targetPort, host);
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    const end = () => {
      client.destroy();
      upstream.destroy();
      pairs.delete(pair);
    };
    for (const socket of pair) {
      socket.on('error', end);
      socket.on('close', end);
      if (stalled) socket.pause();
    }
    forward(client, upstream);
    forward(upstream, client);
  };
  const listen = async (on: number) => {
    const next = createServer(onConnection);
    await new Promise<void>((resolve, reject) => {
      next.once('error', reject);
      next.listen(on, '127.0.0.1', () => {
        next.off('error', reject);
        resolve();
      });
    });
    server = next;
    return (next.address() as { port: number }).port;
  };
  const stop = async () => {
    for (const [client, upstream] of pairs) {
      client.resetAndDestroy();
      upstream.destroy();
    }
    pairs.clear();
    const current = server;
    server = undefined;
    if (current) await new Promise<void>((resolve) => current.close(() => resolve()));
  };

  const bound = await listen(port);
  return {
    port: bound,
    connections: () => accepted,
    stall() {
      stalled = true;
      for (const pair of pairs) for (const socket of pair) socket.pause();
    },
    resume() {
      stalled = false;
      for (const pair of pairs) for (const socket of pair) socket.resume();
    },
    cut: stop,
    async restore() {
      if (!server) await listen(bound);
    },
    close: stop,
  };
}
