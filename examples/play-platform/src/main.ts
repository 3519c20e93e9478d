/**
 * `npm start`: the whole Play platform on embedded defaults — the microservices
 * on a filesystem store, the Play API and its canary, two gateway processes
 * behind a load balancer — until Ctrl-C or SIGTERM. `npm start -- --help` for
 * the options. Builds the workspace packages whose sources changed first.
 */
import { BuildFailed, buildChangedPackages } from './cli/build-packages.ts';
import { parseStartOptions, USAGE } from './cli/start-options.ts';

/** Prints a failure as one line (`code: message`) and exits; a build failure also shows the build's output. */
function fail(error: unknown): never {
  const { code, exitCode } = error as { code?: string; exitCode?: number };
  if (error instanceof BuildFailed) process.stderr.write(error.output);
  console.error(`npm start: ${code ? `${code}: ` : ''}${(error as Error).message ?? error}`);
  process.exit(exitCode ?? 1);
}

// Before the platform starts, a signal just exits; while it starts, the stop waits for it to be up.
let phase: 'preparing' | 'starting' | 'running' = 'preparing';
let stopRequested = false;
let stopRunning: (() => Promise<void>) | undefined;
const stop = () => {
  stopRunning?.().then(
    () => process.exit(0),
    (error: unknown) => fail(error),
  );
};
const onSignal = () => {
  if (stopRequested) return;
  stopRequested = true;
  if (phase === 'preparing') process.exit(130);
  if (phase === 'running') stop();
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

try {
  const options = parseStartOptions(process.argv.slice(2));
  if (options === 'help') {
    console.log(USAGE);
    process.exit(0);
  }
  await buildChangedPackages();
  // Imported after the build: the platform runs on the packages' built output.
  const { runPlatform } = await import('./cli/run-platform.ts');
  phase = 'starting';
  stopRunning = (await runPlatform(options)).stop;
  phase = 'running';
  if (stopRequested) stop();
} catch (error) {
  fail(error);
}
