import { renameSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { checkCompatibility, formatViolations } from '../catalog/compatibility/check.js';
import { exportSchemaSnapshot, formatSchemaSnapshot, parseSchemaSnapshot } from '../catalog/snapshot.js';
import { isSchemaSnapshotError } from '../errors.js';
import { InputError, parseCliArgs, USAGE, UsageError } from './args.js';
import { loadCatalog, readPrevious } from './sources.js';

/** Where the CLI writes. @internal */
export interface CliIo {
  cwd: string;
  out: (text: string) => void;
  err: (text: string) => void;
}

/**
 * Runs `backlot-events` with `argv`; resolves to the exit code: 0 compatible
 * (or exported), 1 a breaking change, 2 a usage or input error.
 * @internal
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  try {
    const args = parseCliArgs(argv);
    if (args === 'help') {
      io.out(`${USAGE}\n`);
      return 0;
    }
    const catalog = await loadCatalog(args.catalog, io.cwd, args.timeout);
    if (args.command === 'export') {
      const text = formatSchemaSnapshot(exportSchemaSnapshot(catalog));
      if (args.out) {
        // Written aside and renamed: a killed export never leaves a torn snapshot behind.
        const target = resolve(io.cwd, args.out);
        writeFileSync(`${target}.${process.pid}.tmp`, text);
        renameSync(`${target}.${process.pid}.tmp`, target);
        io.err(`backlot-events: wrote ${catalog.jsonSchemas().length} event version schema(s) to ${args.out}\n`);
      } else {
        io.out(text);
      }
      return 0;
    }
    const previous = [];
    for (const against of args.against) {
      const { text, source } = await readPrevious(against, args.snapshot, io.cwd, args.timeout);
      previous.push(parseSchemaSnapshot(text, source));
    }
    const report = checkCompatibility(catalog, previous, { level: args.level });
    const against = args.against.join(', ');
    if (report.compatible) {
      io.out(`backlot-events: compatible (${args.level}) with ${against}\n`);
      return 0;
    }
    io.out(
      `backlot-events: ${report.violations.length} breaking change(s) (${args.level}) against ${against}:\n` +
        formatViolations(report)
          .map((line) => `  ${line}\n`)
          .join(''),
    );
    return 1;
  } catch (error) {
    if (error instanceof UsageError || isSchemaSnapshotError(error)) {
      const usage = error instanceof UsageError && !(error instanceof InputError);
      io.err(`backlot-events: ${(error as Error).message}\n${usage ? `\n${USAGE}\n` : ''}`);
      return 2;
    }
    throw error;
  }
}
