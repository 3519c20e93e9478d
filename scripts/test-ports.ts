import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';

/**
 * Free TCP ports on 127.0.0.1 for the private servers a test starts (a Kafka
 * broker and its controller, a Cassandra node, a Redis, a fault proxy), so
 * that suites in parallel checkouts, and anything else on the machine, never
 * collide on a fixed port. One place, so every test picks its ports the same
 * way.
 *
 * The ports are free ports of `BACKLOT_TEST_PORT_RANGE` when it is set (e.g.
 * `20600-20699`), else of 10000 up to the operating system's ephemeral range
 * (Linux: `ip_local_port_range`, from 32768), from a random place in it. Not
 * in the ephemeral range: a test stops and restarts its broker on the same
 * port, and meanwhile any outgoing connection on the machine may be given
 * that port as its own, or a client retrying a connect to it may connect to
 * itself. A port found free can be taken by something else before the
 * server binds it: start through {@link startOnFreePorts}, which picks new
 * ports and starts again when the start fails on an address in use.
 */

const listen = (server: Server, port: number) =>
  new Promise<boolean>((resolve) => {
    server.once('error', () => resolve(false));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => resolve(true));
  });

const close = (server: Server) => new Promise<void>((resolve) => server.close(() => resolve()));

/** The first port the OS hands out to outgoing connections (Linux; elsewhere the IANA default, 49152). */
function ephemeralStart(): number {
  try {
    const first = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(first) && first > 10_100 ? first : 49_152;
  } catch {
    return 49_152;
  }
}

/** `BACKLOT_TEST_PORT_RANGE` as `[from, to]`, else 10000 up to the ephemeral range. */
function portRange(env: NodeJS.ProcessEnv = process.env): [number, number] {
  const range = env.BACKLOT_TEST_PORT_RANGE?.trim();
  if (!range) return [10_000, ephemeralStart() - 1];
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
      throw new Error(`fewer than ${count} free ports in ${from}-${to} (BACKLOT_TEST_PORT_RANGE sets the range)`);
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
