import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import { isRegistryError, type RegistryError } from '../src/index.js';

/**
 * What the proxy does to connections between the test's registry client and the registry:
 * `pass` forwards; `reset` cuts every connection as it opens (a registry that is down);
 * `stall` accepts and never answers (a registry that hangs).
 */
export type RegistryProxyMode = 'pass' | 'reset' | 'stall';

/** A TCP proxy on a free 127.0.0.1 port in front of a registry, that the test controls. */
export interface RegistryProxy {
  readonly port: number;
  /** Connections it accepted, in all. */
  readonly connections: number;
  /** Changes the mode; open connections are cut, so the client reconnects into the new mode. */
  mode(mode: RegistryProxyMode): void;
  close(): Promise<void>;
}

export async function startRegistryProxy(upstream: URL): Promise<RegistryProxy> {
  let mode: RegistryProxyMode = 'pass';
  let connections = 0;
  const open = new Set<Socket>();
  const server: Server = createServer((client) => {
    connections++;
    open.add(client);
    client.on('close', () => open.delete(client));
    client.on('error', () => {});
    if (mode === 'reset') {
      client.resetAndDestroy();
      return;
    }
    if (mode === 'stall') return;
    const target = tcpConnect(Number(upstream.port), upstream.hostname);
    open.add(target);
    target.on('close', () => open.delete(target));
    target.on('error', () => client.destroy());
    client.on('close', () => target.destroy());
    target.on('close', () => client.destroy());
    client.pipe(target);
    target.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('proxy has no port');
  return {
    port: address.port,
    get connections() {
      return connections;
    },
    mode(next) {
      mode = next;
      for (const socket of open) socket.destroy();
    },
    async close() {
      for (const socket of open) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The {@link RegistryError} `promise` rejects with; fails the test on success or another error. */
export async function registryFailure(promise: Promise<unknown>): Promise<RegistryError> {
  try {
    await promise;
  } catch (error) {
    if (isRegistryError(error)) return error;
    throw error;
  }
  throw new Error('expected a RegistryError');
}
