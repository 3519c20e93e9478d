import { createServer } from 'node:net';

/** A port `npm start` needs is taken: one line naming the flag and the fix. */
export class PortInUseError extends Error {
  readonly code = 'port_in_use';
  constructor(port: number, flag: string) {
    super(
      `port ${port} (${flag}) is already in use on 127.0.0.1: stop what holds it, or pick another: ${flag} ${port + 1}`,
    );
    this.name = 'PortInUseError';
  }
}

/** Throws {@link PortInUseError} for the first port (0 = any, skipped) that cannot be bound on 127.0.0.1. */
export async function assertPortsFree(ports: { port: number; flag: string }[]): Promise<void> {
  for (const { port, flag } of ports) {
    if (port === 0) continue;
    await new Promise<void>((resolve, reject) => {
      const probe = createServer();
      probe.once('error', (error: NodeJS.ErrnoException) =>
        reject(error.code === 'EADDRINUSE' ? new PortInUseError(port, flag) : error),
      );
      probe.listen(port, '127.0.0.1', () => probe.close(() => resolve()));
    });
  }
}
