import { type ChildProcess, execFile, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * What the proxy does to the traffic between clients and the broker:
 * - `pass`: forwards everything;
 * - `drop-produce-responses`: forwards every request, and every response except
 *   those to Produce requests (the broker writes the records, the client never hears so);
 * - `stall`: accepts connections and forwards nothing either way (a broker that hangs);
 * - `hold`: accepts connections and stops reading them (a broker that hangs and no longer
 *   reads its sockets): what clients write stays in the sockets' buffers, and is read and
 *   forwarded once the mode changes again, as a broker that comes back would.
 */
export type ProxyMode = 'pass' | 'drop-produce-responses' | 'stall' | 'hold';

/** A TCP proxy in front of a Kafka broker that the test controls. */
export interface FaultProxy {
  readonly port: number;
  /** Changes what happens to the traffic from now on (open connections included). */
  mode(mode: ProxyMode): void;
  /** Delays every frame by `ms` each way (0: none); order is kept. */
  latency(ms: number): void;
  /** Cuts every open connection (clients see a reset and reconnect). */
  cutAll(): void;
  /** Produce responses dropped so far. */
  readonly droppedResponses: number;
  /** Connections cut by {@link cutAll} so far. */
  readonly cuts: number;
  close(): Promise<void>;
}

const PRODUCE = 0;

/** Splits a Kafka byte stream into whole frames (4-byte size, then the frame). */
class Framer {
  #buffer: Buffer<ArrayBufferLike> = Buffer.alloc(0);

  push(chunk: Buffer): Buffer[] {
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    const frames: Buffer[] = [];
    while (this.#buffer.length >= 4) {
      const size = this.#buffer.readInt32BE(0);
      if (this.#buffer.length < 4 + size) break;
      frames.push(this.#buffer.subarray(0, 4 + size));
      this.#buffer = this.#buffer.subarray(4 + size);
    }
    return frames;
  }
}

/** Starts a proxy on 127.0.0.1:`port` in front of 127.0.0.1:`upstreamPort`, in `pass` mode. */
export async function startFaultProxy(port: number, upstreamPort: number): Promise<FaultProxy> {
  let mode: ProxyMode = 'pass';
  let delayMs = 0;
  let droppedResponses = 0;
  let cuts = 0;
  const pairs = new Set<{ client: Socket; upstream: Socket | undefined }>();

  const server: Server = createServer((client) => {
    const pair: { client: Socket; upstream: Socket | undefined } = { client, upstream: undefined };
    pairs.add(pair);
    const produceIds = new Set<number>();
    const requests = new Framer();
    const responses = new Framer();
    const close = () => {
      pairs.delete(pair);
      client.destroy();
      pair.upstream?.destroy();
    };
    client.on('error', close).on('close', close);
    /** Forwards `frame` to `socket` after the configured latency (frames keep their order: same delay, FIFO timers). */
    const forward = (socket: Socket | undefined, frame: Buffer) => {
      if (!socket) return;
      if (delayMs === 0) socket.write(frame);
      else setTimeout(() => socket.destroyed || socket.write(frame), delayMs);
    };
    const openUpstream = () => {
      const upstream = tcpConnect(upstreamPort, '127.0.0.1');
      pair.upstream = upstream;
      upstream.on('error', close).on('close', close);
      upstream.on('data', (chunk: Buffer) => {
        for (const frame of responses.push(chunk)) {
          if (mode === 'stall' || mode === 'hold') continue;
          const correlationId = frame.readInt32BE(4);
          if (produceIds.delete(correlationId) && mode === 'drop-produce-responses') {
            droppedResponses++;
            continue;
          }
          forward(client, frame);
        }
      });
    };
    if (mode === 'hold') client.pause();
    if (mode !== 'stall' && mode !== 'hold') openUpstream();
    client.on('data', (chunk: Buffer) => {
      for (const frame of requests.push(chunk)) {
        if (mode === 'stall') continue;
        if (frame.readInt16BE(4) === PRODUCE) produceIds.add(frame.readInt32BE(8));
        if (!pair.upstream) openUpstream();
        // Written while still connecting: the socket queues it.
        forward(pair.upstream, frame);
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return {
    port,
    mode(next) {
      const held = mode === 'hold';
      mode = next;
      for (const pair of pairs) {
        if (next === 'hold') pair.client.pause();
        else if (held) pair.client.resume();
      }
    },
    latency(ms) {
      delayMs = ms;
    },
    cutAll() {
      for (const pair of [...pairs]) {
        cuts++;
        pair.client.resetAndDestroy();
        pair.upstream?.destroy();
        pairs.delete(pair);
      }
    },
    get droppedResponses() {
      return droppedResponses;
    },
    get cuts() {
      return cuts;
    },
    async close() {
      for (const pair of [...pairs]) {
        pair.client.destroy();
        pair.upstream?.destroy();
      }
      pairs.clear();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const repo = fileURLToPath(new URL('../../../', import.meta.url));

/** A single-node Kafka broker of the test's own, whose advertised listener is `advertisedPort` (the proxy). */
export interface PrivateBroker {
  /** Kills the broker (SIGKILL: it is private and its data is thrown away) and waits for it to exit. */
  stop(): Promise<void>;
}

/** The last lines of the broker's log, for an error (a port already in use shows there as a BindException). */
const logTail = (path: string) => {
  try {
    return readFileSync(path, 'utf8').split('\n').slice(-30).join('\n');
  } catch {
    return '';
  }
};

/**
 * Starts a private KRaft broker listening on `port` (controller on `controllerPort`,
 * default `port + 1`) and advertising 127.0.0.1:`advertisedPort`, so that every client
 * connection, after the bootstrap one too, goes through whatever listens there (a
 * {@link FaultProxy}). Runs from the jars `scripts/services/kafka.sh` fetched into
 * `.services/kafka/libs`; resolves once the broker answers metadata through `advertisedPort`.
 */
export async function startPrivateBroker(
  dir: string,
  port: number,
  advertisedPort: number,
  controllerPort = port + 1,
): Promise<PrivateBroker> {
  const libs = join(repo, '.services/kafka/libs');
  const props = join(dir, 'server.properties');
  const data = join(dir, 'data');
  mkdirSync(data, { recursive: true });
  writeFileSync(
    props,
    [
      'process.roles=broker,controller',
      'node.id=1',
      `controller.quorum.voters=1@127.0.0.1:${controllerPort}`,
      `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
      `advertised.listeners=PLAINTEXT://127.0.0.1:${advertisedPort}`,
      'controller.listener.names=CONTROLLER',
      'inter.broker.listener.name=PLAINTEXT',
      'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
      `log.dirs=${data}`,
      'offsets.topic.replication.factor=1',
      'offsets.topic.num.partitions=3',
      'transaction.state.log.replication.factor=1',
      'transaction.state.log.min.isr=1',
      'transaction.state.log.num.partitions=3',
      'share.coordinator.state.topic.replication.factor=1',
      'share.coordinator.state.topic.min.isr=1',
      'share.coordinator.state.topic.num.partitions=3',
      'default.replication.factor=1',
      'min.insync.replicas=1',
      'num.partitions=3',
      'auto.create.topics.enable=true',
      'group.initial.rebalance.delay.ms=0',
      'num.network.threads=2',
      'num.io.threads=2',
      '',
    ].join('\n'),
  );
  const java = [
    '-Xms256m',
    '-Xmx512m',
    '-XX:+UseG1GC',
    '-Djava.awt.headless=true',
    `-Dlog4j2.configurationFile=${join(repo, 'scripts/services/kafka/log4j2.properties')}`,
    '-cp',
    `${libs}/*`,
  ];
  const clusterId = randomBytes(16).toString('base64url').replace(/^-/, 'A');
  const format = spawnSync('java', [...java, 'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', props], {
    encoding: 'utf8',
  });
  if (format.status !== 0) throw new Error(`kafka storage format failed: ${format.stderr}${format.stdout}`);
  const logPath = join(dir, 'kafka.log');
  const log = openSync(logPath, 'a');
  const child: ChildProcess = spawn('java', [...java, 'kafka.Kafka', props], { stdio: ['ignore', log, log] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (child.exitCode !== null) {
      throw new Error(`private broker exited at start-up; see ${logPath}:\n${logTail(logPath)}`);
    }
    try {
      // Asynchronous: the proxy answering it runs on this event loop.
      const { stdout: out } = await run('kcat', ['-L', '-b', `127.0.0.1:${advertisedPort}`, '-m', '3'], {
        encoding: 'utf8',
      });
      if (/^ *[1-9][0-9]* brokers:/m.test(out)) break;
    } catch {
      // Not up yet.
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`private broker not ready within 120 s; see ${join(dir, 'kafka.log')}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  return {
    async stop() {
      if (child.exitCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}
