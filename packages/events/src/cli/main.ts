#!/usr/bin/env node
import { runCli } from './run.js';

// Until the run settles: a process that ends early (a catalogue module whose import never settles) is not a pass.
process.exitCode = 2;

runCli(process.argv.slice(2), {
  cwd: process.cwd(),
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
}).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`backlot-events: internal error: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exitCode = 2;
  },
);
