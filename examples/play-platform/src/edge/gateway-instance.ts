/**
 * One gateway instance as its own process (the load balancer spreads
 * connections over several). Started by `edge/gateway-fleet.ts` with its
 * config in `PLAY_EDGE_OPTIONS`; tells its parent its port once listening,
 * and drains then exits on SIGTERM.
 */
import { createGateway, RedisRateLimitStore } from '@backlot/gateway';
import { BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { installTracing } from '../tracing/install.ts';
import { ParentProcessSpanExporter } from '../tracing/span-ipc.ts';
import { type EdgeOptions, edgeConfig, FLEET_STORE, profileFromToken } from './gateway-config.ts';

const options = JSON.parse(process.env.PLAY_EDGE_OPTIONS ?? '{}') as EdgeOptions;
// Traced: an SDK as the Play API's process has, whose spans go to the parent (the dashboard's waterfall)
// over the IPC channel, in batches every 200 ms.
const tracing =
  (options.traceSample ?? 0) > 0
    ? installTracing({
        sampleRatio: options.traceSample as number,
        buffer: false,
        processors: [new BatchSpanProcessor(new ParentProcessSpanExporter(), { scheduledDelayMillis: 200 })],
      })
    : undefined;
// Real mode: the fleet's rate limits live in Redis. A Redis that is down at start is not fatal: the
// routes' onStoreError applies until it answers (the client reconnects in the background).
const fleetStore = options.redisUrl
  ? new RedisRateLimitStore({ url: options.redisUrl, keyPrefix: options.redisKeyPrefix ?? 'play:ratelimit:' })
  : undefined;
await fleetStore?.ready().catch((error: Error) => console.error(`gateway ${process.pid}: ${error.message}`));
const gateway = createGateway(edgeConfig({ ...options, port: 0 }), {
  filters: [profileFromToken],
  ...(fleetStore ? { rateLimitStores: { [FLEET_STORE]: fleetStore } } : {}),
});
const { port } = await gateway.listen();
// Its admin listener (loopback only): /metrics for the platform's dashboard.
const admin = await gateway.listenAdmin({ port: 0, host: '127.0.0.1' });
process.send?.({ type: 'ready', port, adminPort: admin.port, pid: process.pid });

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await gateway.close();
  await fleetStore?.close();
  await tracing?.stop(); // sends the last spans
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.on('disconnect', stop); // the parent went away
