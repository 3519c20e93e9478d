import { parseArgs } from 'node:util';
import { z } from 'zod';

/** A command-line mistake: exit code 2, with the flag and the fix (and the usage text). @internal */
export class UsageError extends Error {}

/** A flag whose value cannot be used (a missing module, an unknown git ref): exit code 2, without the usage text. @internal */
export class InputError extends UsageError {}

export const USAGE = `Usage:
  backlot-events export --catalog <module>[#export] [--out <file>] [--timeout <ms>]
  backlot-events check  --catalog <module>[#export] --against <git ref | snapshot file> [--against …]
                        [--level backward|forward|full] [--snapshot <path>] [--timeout <ms>]

  --catalog   the module that exports the catalogue (built JS, or .ts on Node 23.6+), and its export name
              (default: the default export, else the only exported catalogue)
  --out       where export writes the snapshot (default: standard output)
  --against   the previous release: a snapshot file, a git ref (its --snapshot file), or <ref>:<path>;
              repeat it to check against several releases (Confluent's *_TRANSITIVE levels)
  --level     backward (default: new code reads old events), forward (old code reads new events), full (both)
  --snapshot  the snapshot's path, relative to the current directory, read from a git ref (default events.schema.json)
  --timeout   longest wait in ms for importing the catalogue and for each git show (default 30000)

Exit codes: 0 compatible (or exported), 1 breaking change, 2 usage or input error.`;

const catalogFlag = z
  .string({ error: '--catalog is required: the module exporting the catalogue, e.g. --catalog dist/events.js#events' })
  .regex(/^[^#]+(#[A-Za-z_$][\w$]*)?$/, '--catalog must be <module path>[#<export name>], e.g. dist/events.js#events');

const timeoutFlag = z.coerce
  .number({ error: '--timeout must be a number of milliseconds, e.g. --timeout 60000' })
  .int('--timeout must be a whole number of milliseconds')
  .positive('--timeout must be a positive number of milliseconds')
  .default(30_000);

const exportArgs = z.object({
  command: z.literal('export'),
  timeout: timeoutFlag,
  catalog: catalogFlag,
  out: z.string().min(1, '--out must name a file').optional(),
});

const checkArgs = z.object({
  command: z.literal('check'),
  timeout: timeoutFlag,
  catalog: catalogFlag,
  against: z
    .array(z.string().min(1, '--against must not be empty'), {
      error: '--against is required: a snapshot file or a git ref, e.g. --against origin/main',
    })
    .min(1, '--against is required: a snapshot file or a git ref, e.g. --against origin/main'),
  level: z
    .enum(['backward', 'forward', 'full'], { error: "--level must be 'backward', 'forward' or 'full'" })
    .default('backward'),
  snapshot: z.string().min(1, '--snapshot must name a file').default('events.schema.json'),
});

/** The parsed command line. @internal */
export type CliArgs = z.infer<typeof exportArgs> | z.infer<typeof checkArgs>;

/**
 * Parses and validates `argv` (without `node` and the script).
 * @throws {UsageError} naming the flag.
 * @internal
 */
export function parseCliArgs(argv: readonly string[]): CliArgs | 'help' {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        catalog: { type: 'string' },
        out: { type: 'string' },
        against: { type: 'string', multiple: true },
        level: { type: 'string' },
        snapshot: { type: 'string' },
        timeout: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) return 'help';
  const [command, ...extra] = positionals;
  if (extra.length > 0) throw new UsageError(`unexpected argument '${extra[0]}'`);
  if (command !== 'export' && command !== 'check') {
    throw new UsageError(
      command ? `unknown command '${command}': use export or check` : 'a command is required: export or check',
    );
  }
  const schema = command === 'export' ? exportArgs : checkArgs;
  if (command === 'export' && (values.against || values.level || values.snapshot)) {
    throw new UsageError('export takes --catalog and --out only (--against, --level and --snapshot are for check)');
  }
  if (command === 'check' && values.out) throw new UsageError('check takes no --out (it writes nothing)');
  const result = schema.safeParse({ command, ...values });
  if (!result.success) throw new UsageError(result.error.issues[0]?.message ?? 'invalid arguments');
  return result.data;
}
