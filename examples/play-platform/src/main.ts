import { startPlatform } from './platform.ts';

const port = Number(process.env.PORT ?? 8080);
const platform = await startPlatform({ port });

console.log(`Play platform listening on ${platform.url}

Try it:
  curl -s -X POST ${platform.url}/play -H 'content-type: application/json' \\
    -d '{"profileId":"p1","titleId":"80100172","device":"tv"}'

Press Ctrl+C to stop.`);

const stop = async () => {
  await platform.close();
  console.log(`stopped; ${platform.events.length} play event(s) emitted`);
  process.exit(0);
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
