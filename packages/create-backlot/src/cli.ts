#!/usr/bin/env node
/**
 * npm create backlot@latest <name> [--dir <folder>] [--force] [--pm npm|pnpm|yarn]
 */
import { parseArgs } from 'node:util';
import { DirectoryNotEmptyError, generate } from './generate.js';

const usage = 'usage: npm create backlot@latest <name> [-- --dir <folder>] [--force] [--pm npm|pnpm|yarn]';

async function main(): Promise<number> {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      allowPositionals: true,
      options: {
        dir: { type: 'string' },
        force: { type: 'boolean', default: false },
        pm: { type: 'string', default: 'npm' },
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
  try {
    const result = await generate({
      name: positionals[0] as string,
      directory: values.dir as string | undefined,
      force: values.force as boolean,
      packageManager: values.pm as 'npm',
    });
    console.log(
      `created ${result.directory} (${result.files.length} files)\n\nnext:\n${result.nextSteps.map((s) => `  ${s}`).join('\n')}`,
    );
    return 0;
  } catch (error) {
    if (error instanceof TypeError || error instanceof DirectoryNotEmptyError) {
      console.error(`create-backlot: ${error.message}\n${usage}`);
      return 64;
    }
    throw error;
  }
}

process.exitCode = await main();
