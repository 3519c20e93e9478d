/**
 * `npm start`: the whole Play platform on embedded defaults — the microservices
 * on a filesystem store, the Play API and its canary, two gateway processes
 * behind a load balancer — until Ctrl-C.
 *
 *   npm start -- [--port 8080] [--gateways 2] [--data-dir <folder>] [--memory] [--admin-port 9900]
 *
 * Real mode (the foundation's services: `npm run services -- up`):
 *   npm start -- --kafka 127.0.0.1:9092 --s3-endpoint http://127.0.0.1:9000 --s3-bucket play
 * (also from BACKLOT_KAFKA_BROKERS, BACKLOT_S3_ENDPOINT, BACKLOT_S3_BUCKET, BACKLOT_S3_ACCESS_KEY_ID, …)
 */
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { kafkaScriptBroker } from './admin/broker-control.ts';
import { fleetEdge } from './admin/fleet-edge.ts';
import { startGatewayFleet } from './edge/gateway-fleet.ts';
import { startCore } from './platform.ts';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: process.env.PORT ?? '8080' },
    gateways: { type: 'string', default: '2' },
    'data-dir': { type: 'string', default: fileURLToPath(new URL('../.data', import.meta.url)) },
    memory: { type: 'boolean', default: false },
    'canary-percent': { type: 'string', default: '10' },
    kafka: { type: 'string', default: process.env.BACKLOT_KAFKA_BROKERS },
    's3-endpoint': { type: 'string', default: process.env.BACKLOT_S3_ENDPOINT },
    's3-bucket': { type: 'string', default: process.env.BACKLOT_S3_BUCKET },
    'admin-port': { type: 'string', default: process.env.PLAY_ADMIN_PORT ?? '9900' },
  },
});

const kafkaBrokers = values.kafka?.split(',').map((b) => b.trim());
const s3Bucket = values['s3-bucket'] ?? (values['s3-endpoint'] ? 'play-platform' : undefined);
const core = await startCore({
  // The dashboard and chaos controls; in real mode they may stop the broker kafka.sh runs.
  admin: {
    port: Number(values['admin-port']),
    ...(kafkaBrokers ? { broker: kafkaScriptBroker({ brokers: kafkaBrokers }) } : {}),
  },
  ...(values.memory ? {} : { dataDir: values['data-dir'] }),
  ...(kafkaBrokers ? { kafkaBrokers } : {}),
  ...(s3Bucket
    ? {
        s3: {
          bucket: s3Bucket,
          endpoint: values['s3-endpoint'],
          region: process.env.BACKLOT_S3_REGION ?? 'us-east-1',
          accessKeyId: process.env.BACKLOT_S3_ACCESS_KEY_ID ?? (values['s3-endpoint'] ? 'test' : undefined),
          secretAccessKey: process.env.BACKLOT_S3_SECRET_ACCESS_KEY ?? (values['s3-endpoint'] ? 'test' : undefined),
        },
      }
    : {}),
});
const fleet = await startGatewayFleet({
  count: Number(values.gateways),
  port: Number(values.port),
  playApi: core.playApiUrls.v1,
  playApiCanary: core.playApiUrls.v2,
  canaryPercent: Number(values['canary-percent']),
});
core.admin?.setEdge(fleetEdge(fleet));

const mode = [
  kafkaBrokers ? `events on Kafka ${kafkaBrokers.join(',')}` : 'events on the embedded log',
  s3Bucket ? `data in S3 bucket ${s3Bucket}` : values.memory ? 'data in memory' : `data in ${values['data-dir']}`,
].join(', ');
console.log(`Play platform up — ${mode}

  dashboard         ${core.admin?.url}/   (live metrics and chaos controls, 127.0.0.1 only)
  load balancer     ${fleet.url}   (clients call this)
${fleet.instances.map((g, i) => `  gateway ${i + 1}         http://127.0.0.1:${g.port}   (pid ${g.pid}, admin :${g.adminPort})`).join('\n')}
  Play API v1       ${core.playApiUrls.v1}
  Play API v2       ${core.playApiUrls.v2}   (canary, ${values['canary-percent']} % of /play)
${Object.values(core.services)
  .map((s) => `  ${s.name.padEnd(18)}${s.url}`)
  .join('\n')}

Play a title:   npm run play -- --url ${fleet.url} --profile p-ada --title 80100172
Load test:      npm run load -- --url ${fleet.url} --duration 10
Chaos:          the dashboard's buttons, or curl -X POST -H 'x-chaos-token: ${core.admin?.token}' \\
                  -d '{"down":true}' ${core.admin?.url}/api/chaos/service/steering
Press Ctrl-C to stop.`);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  console.log('\nstopping: draining the gateways, then the services…');
  await fleet.close();
  await core.close();
  console.log(`stopped (${core.events.length} events emitted)`);
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
