import { createServer, type Server } from 'node:net';

/**
 * Free TCP ports on 127.0.0.1 for the private servers a test starts (a Kafka
 * broker and its controller, a Cassandra node, a Redis, a fault proxy), so
 * that suites in parallel checkouts, and anything else on the machine, never
 * collide on a fixed port. One place, so every test picks its ports the same
 * way.
 *
 * The ports are the operating system's picks, or, when
 * `BACKLOT_TEST_PORT_RANGE` is set (e.g. `20600-20699`), free ports of that
 * range from a random place in it. A port found free can be taken by
 * something else before the server binds it: start through
 * {@link startOnFreePorts}, which picks new ports and starts again when the
 * start fails on an address in use.
 */

const listen = (server: Server, port: number) =>
  new Promise<boolean>((resolve) => {
    server.once('error', () => resolve(false));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => resolve(true));
  });

const close = (server: Server) => new Promise<void>((resolve) => server.close(() => resolve()));

/** `BACKLOT_TEST_PORT_RANGE` as `[from, to]`, or undefined when unset. */
function portRange(env: NodeJS.ProcessEnv = process.env): [number, number] | undefined {
  const range = env.BACKLOT_TEST_PORT_RANGE?.trim();
  if (!range) return undefined;
  const match = /^(\d{1,5})-(\d{1,5})$/.exec(range);
  const from = Number(match?.[1]);
  const to = Number(match?.[2]);
  if (!match || from < 1 || to > 65535 || from > to) {
    throw new Error(`BACKLOT_TEST_PORT_RANGE='${range}' is invalid: write it as <from>-<to>, e.g. 20600-20699`);
  }
  return [from, to];
}

/**
 * `count` distinct ports that are free now (each held open until all are
 * found, so they differ), then released for the caller's server to bind.
 */
export async function freePorts(count: number): Promise<number[]> {
  const range = portRange();
  const held: Server[] = [];
  const ports: number[] = [];
  try {
    if (!range) {
      for (let i = 0; i < count; i++) {
        const server = createServer();
        held.push(server);
        if (!(await listen(server, 0))) throw new Error('the OS gave no free port on 127.0.0.1');
        ports.push((server.address() as { port: number }).port);
      }
      return ports;
    }
    const [from, to] = range;
    const span = to - from + 1;
    const start = Math.floor(Math.random() * span);
    for (let i = 0; i < span && ports.length < count; i++) {
      const port = from + ((start + i) % span);
      const server = createServer();
      if (await listen(server, port)) {
        held.push(server);
        ports.push(port);
      }
    }
    if (ports.length < count)
      throw new Error(`fewer than ${count} free ports in BACKLOT_TEST_PORT_RANGE ${from}-${to}`);
    return ports;
  } finally {
    await Promise.all(held.map(close));
  }
}

/** One free port (see {@link freePorts}). */
export async function freePort(): Promise<number> {
  return (await freePorts(1))[0] as number;
}

/** True when `error` (or its message, e.g. a start script's output) says an address was already in use. */
export function isAddressInUse(error: unknown): boolean {
  if ((error as NodeJS.ErrnoException | undefined)?.code === 'EADDRINUSE') return true;
  const text = error instanceof Error ? `${error.message}\n${String(error.cause ?? '')}` : String(error);
  return /EADDRINUSE|address already in use|BindException|is already in use|not started by this script already answers/i.test(
    text,
  );
}

/**
 * Starts a private server on `count` free ports: `start(ports)` is called
 * with fresh ports, and again with new ones (up to `attempts` times in all)
 * when it fails on an address in use, because something took a port between
 * the pick and the bind. Any other failure is thrown at once.
 */
export async function startOnFreePorts<T>(
  count: number,
  start: (ports: number[]) => Promise<T>,
  { attempts = 5 }: { attempts?: number } = {},
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const ports = await freePorts(count);
    try {
      return await start(ports);
    } catch (error) {
      if (attempt >= attempts || !isAddressInUse(error)) throw error;
    }
  }
}

/** A port held taken by this process until `release()`: for tests of what a server does when its port is in use. */
export async function busyPort(): Promise<{ port: number; release(): Promise<void> }> {
  const server = createServer();
  if (!(await listen(server, 0))) throw new Error('the OS gave no free port on 127.0.0.1');
  return { port: (server.address() as { port: number }).port, release: () => close(server) };
}
