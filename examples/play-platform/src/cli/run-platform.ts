/**
 * Runs the platform for `npm start` (after `main.ts` parsed the command line
 * and built what changed): starts it, prints where each part listens, and
 * stops it on Ctrl-C or SIGTERM — gateways drain, producers deliver, the
 * stream processor commits, every port is released.
 */
import { kafkaScriptBroker } from '../admin/broker-control.ts';
import { fleetEdge } from '../admin/fleet-edge.ts';
import { type GatewayFleet, startGatewayFleet } from '../edge/gateway-fleet.ts';
import { type PlatformCore, startCore } from '../platform.ts';
import { installTracing } from '../tracing/install.ts';
import { assertPortsFree } from './ports.ts';
import type { StartOptions } from './start-options.ts';

/**
 * Starts the platform with `options`; resolves once it runs, with where the
 * load balancer and the dashboard listen (a port 0 is a free one) and a
 * function that stops it.
 */
export async function runPlatform(
  options: StartOptions,
): Promise<{ url: string; adminUrl: string | undefined; stop(): Promise<void> }> {
  await assertPortsFree([
    { port: options.port, flag: '--port' },
    { port: options.adminPort, flag: '--admin-port' },
  ]);
  const { kafkaBrokers, s3Bucket, s3Endpoint, cassandra } = options;
  let core: PlatformCore | undefined;
  let fleet: GatewayFleet | undefined;
  // An OpenTelemetry SDK for this process: the dashboard shows the latest plays' traces as waterfalls.
  const tracing = options.traceSample > 0 ? installTracing({ sampleRatio: options.traceSample }) : undefined;
  try {
    core = await startCore({
      ...(tracing ? { traces: tracing.buffer } : {}),
      // The dashboard and chaos controls; in real mode they may stop the broker kafka.sh runs at --kafka.
      admin: {
        port: options.adminPort,
        ...(kafkaBrokers ? { broker: kafkaScriptBroker({ brokers: kafkaBrokers }) } : {}),
      },
      ...(options.memory ? {} : { dataDir: options.dataDir }),
      http: options.http,
      ...(options.trendingWindow ? { trendingWindow: options.trendingWindow } : {}),
      ...(kafkaBrokers ? { kafkaBrokers } : {}),
      ...(cassandra ? { cassandra } : {}),
      ...(s3Bucket
        ? {
            s3: {
              bucket: s3Bucket,
              endpoint: s3Endpoint,
              region: process.env.BACKLOT_S3_REGION ?? 'us-east-1',
              accessKeyId: process.env.BACKLOT_S3_ACCESS_KEY_ID ?? (s3Endpoint ? 'test' : undefined),
              secretAccessKey: process.env.BACKLOT_S3_SECRET_ACCESS_KEY ?? (s3Endpoint ? 'test' : undefined),
            },
          }
        : {}),
    });
    fleet = await startGatewayFleet({
      count: options.gateways,
      port: options.port,
      playApi: core.playApiUrls.v1,
      playApiCanary: core.playApiUrls.v2,
      canaryPercent: options.canaryPercent,
      ...(options.redisUrl ? { redisUrl: options.redisUrl } : {}),
      // Traced, the gateways' spans join the Play API's in the dashboard's waterfall (sent over IPC).
      ...(tracing ? { traceSample: options.traceSample, onSpans: (spans) => tracing.buffer.add(spans) } : {}),
      supervise: {
        onReplace: ({ index, deadPid, exit, pid, error }) =>
          console.log(
            error
              ? `gateway ${index + 1} (pid ${deadPid}, ${exit}): replacement failed (${error.message}); retrying with backoff`
              : `gateway ${index + 1} (pid ${deadPid}) ended (${exit}); replaced by pid ${pid}`,
          ),
      },
    });
  } catch (error) {
    await fleet?.close().catch(() => {});
    await core?.close().catch(() => {});
    await tracing?.stop();
    throw error;
  }
  const running = { core, fleet };
  core.admin?.setEdge(fleetEdge(fleet));

  const mode = [
    kafkaBrokers ? `events on Kafka ${kafkaBrokers.join(',')}` : 'events on the embedded log',
    s3Bucket
      ? `data in S3 bucket ${s3Bucket}`
      : options.memory
        ? 'data in memory (temporary, removed on exit)'
        : `data in ${options.dataDir}`,
    ...(cassandra
      ? [
          `bookmarks, licences and viewing history in Cassandra ${cassandra.contactPoints.join(',')} (keyspace ${cassandra.keyspace})`,
        ]
      : []),
    options.redisUrl ? `rate limits shared in Redis ${options.redisUrl}` : 'rate limits per gateway',
  ].join(', ');
  console.log(`Play platform up — ${mode}

  dashboard         ${core.admin?.url}/   (live metrics and chaos controls, 127.0.0.1 only)
  load balancer     ${fleet.url}   (clients call this)
${fleet.instances.map((g, i) => `  gateway ${i + 1}         http://127.0.0.1:${g.port}   (pid ${g.pid}, admin :${g.adminPort})`).join('\n')}
  Play API v1       ${core.playApiUrls.v1}
  Play API v2       ${core.playApiUrls.v2}   (canary, ${options.canaryPercent} % of /play)
${Object.values(core.services)
  .map((s) => `  ${s.name.padEnd(18)}${s.url}`)
  .join('\n')}

Play a title:   npm run play -- --url ${fleet.url} --profile p-ada --title 80100172
Load test:      npm run load -- --url ${fleet.url} --duration 10
Chaos:          the dashboard's buttons, or curl -X POST -H 'x-chaos-token: ${core.admin?.token}' \\
                  -d '{"down":true}' ${core.admin?.url}/api/chaos/service/steering
Press Ctrl-C to stop.`);

  return {
    url: fleet.url,
    adminUrl: core.admin?.url,
    async stop() {
      console.log('\nstopping: draining the gateways, then the services…');
      await running.fleet.close();
      await running.core.close();
      await tracing?.stop();
      console.log(`stopped (${running.core.events.length} events emitted)`);
    },
  };
}
