#!/usr/bin/env node
/**
 * npm create backlot@latest <name> [--dir <folder>] [--force] [--pm npm|pnpm|yarn]
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DirectoryNotEmptyError, generate } from './generate.js';
import { LocalPackagesError } from './local-packages.js';

const usage =
  'usage: npm create backlot@latest <name> [-- --dir <folder>] [--force] [--pm npm|pnpm|yarn] [--local-packages <backlot clone>]\n' +
  '   or, from a Backlot clone: npm run scaffold -- <name> [--dir <folder>]';

async function main(): Promise<number> {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      allowPositionals: true,
      options: {
        dir: { type: 'string' },
        force: { type: 'boolean', default: false },
        pm: { type: 'string', default: 'npm' },
        'local-packages': { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error) {
    console.error(`${(error as Error).message}\n${usage}`);
    return 64;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(usage);
    return 0;
  }
  // Paths given on the command line are the user's; under `npm run`, the user's folder is INIT_CWD.
  const localPackages = values['local-packages'] ? resolve(values['local-packages'] as string) : undefined;
  if (process.env.INIT_CWD) process.chdir(process.env.INIT_CWD);
  try {
    const result = await generate({
      name: positionals[0] as string,
      directory: values.dir as string | undefined,
      force: values.force as boolean,
      packageManager: values.pm as 'npm',
      localPackages,
    });
    console.log(
      `created ${result.directory} (${result.files.length} files)\n\nnext:\n${result.nextSteps.map((s) => `  ${s}`).join('\n')}`,
    );
    return 0;
  } catch (error) {
    if (error instanceof LocalPackagesError) {
      console.error(`create-backlot: ${error.message}`);
      return 1;
    }
    if (error instanceof TypeError || error instanceof DirectoryNotEmptyError) {
      console.error(`create-backlot: ${error.message}\n${usage}`);
      return 64;
    }
    throw error;
  }
}

process.exitCode = await main();
