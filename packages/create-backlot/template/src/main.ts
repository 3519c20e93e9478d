/**
 * Runs the service and a gateway in front of it.
 *
 *   npm start                      filesystem store in ./.backlot-data, events on an embedded log in ./.backlot
 *   BACKLOT_STORAGE=s3 BACKLOT_S3_BUCKET=… BACKLOT_KAFKA_BROKERS=127.0.0.1:9092 npm start
 */
import { readFileSync } from 'node:fs';
import { createEventProducer, kafkaTransport } from '@backlot/events';
import { createGateway } from '@backlot/gateway';
import { defaultRegistry } from '@backlot/resilience';
import { createStore, storeConfigFromEnv } from '@backlot/storage';
import { createCommands } from './commands.ts';
import { serviceEvents } from './events.ts';
import { createService } from './service.ts';

const port = Number(process.env.PORT ?? 8081);
const brokers = process.env.BACKLOT_KAFKA_BROKERS?.split(',');

const store = createStore(storeConfigFromEnv());
const events = createEventProducer({
  catalog: serviceEvents,
  source: 'ratings',
  ...(brokers ? { transport: kafkaTransport({ brokers }) } : {}),
  key: (event) => event.payload.profileId,
});
const service = createService({
  store,
  events,
  commands: createCommands(process.env.CATALOG_URL ?? 'http://127.0.0.1:8082', defaultRegistry),
});
await service.listen(port);

const config = JSON.parse(readFileSync(new URL('../gateway.json', import.meta.url), 'utf8'));
config.origins.service.servers = [service.url];
const gateway = createGateway(config);
const edge = await gateway.listen();
console.log(`service on ${service.url}, gateway on http://127.0.0.1:${edge.port}`);

const stop = async () => {
  await gateway.close();
  await service.close();
  await events.close();
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
