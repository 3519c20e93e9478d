/**
 * Runs the service and a gateway in front of it, configured from the
 * environment (see `config.ts`), until SIGTERM or Ctrl-C, which drain it.
 *
 *   npm start                      filesystem store in ./.backlot-data, events on an embedded log in ./.backlot
 *   LOG_LEVEL=info npm start       plus pino JSON logs: every request, with its x-request-id
 *   BACKLOT_STORAGE=s3 BACKLOT_S3_BUCKET=… BACKLOT_KAFKA_BROKERS=127.0.0.1:9092 npm start
 */
import { readFileSync } from 'node:fs';
import { createEventProducer, kafkaTransport } from '@backlot/events';
import { createGateway } from '@backlot/gateway';
import { defaultRegistry } from '@backlot/resilience';
import { createStore, storeConfigFromEnv } from '@backlot/storage';
import { createCommands } from './commands.ts';
import { type AppConfig, appConfigFromEnv } from './config.ts';
import { serviceEvents } from './events.ts';
import { drainOnSignals } from './http/shutdown.ts';
import { createRatingsService } from './service.ts';

let config: AppConfig;
let store: ReturnType<typeof createStore>;
try {
  config = appConfigFromEnv();
  store = createStore(storeConfigFromEnv());
} catch (error) {
  // A bad environment is one line naming the variable and the fix, not a stack trace.
  const { code, exitCode } = error as { code?: string; exitCode?: number };
  console.error(`${code ?? 'error'}: ${(error as Error).message}`);
  process.exit(exitCode ?? 78);
}

const events = createEventProducer({
  catalog: serviceEvents,
  source: 'ratings',
  ...(config.kafkaBrokers ? { transport: kafkaTransport({ brokers: config.kafkaBrokers }) } : {}),
  key: (event) => event.payload.profileId,
});
const service = createRatingsService({
  store,
  events,
  commands: createCommands(config.catalogUrl, defaultRegistry),
  config: config.http,
});
await service.listen();

const gatewayConfig = JSON.parse(readFileSync(new URL('../gateway.json', import.meta.url), 'utf8'));
gatewayConfig.origins.service.servers = [service.url];
gatewayConfig.server.port = config.gatewayPort;
const gateway = createGateway(gatewayConfig);
const edge = await gateway.listen();
console.log(`service on ${service.url}, gateway on http://127.0.0.1:${edge.port}`);

// SIGTERM: /ready turns 503, in-flight requests finish, then the gateway and the event producer close.
drainOnSignals([service], {
  afterDrain: async () => {
    await gateway.close();
    await events.close();
  },
});
