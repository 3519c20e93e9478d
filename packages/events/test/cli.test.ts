import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeTempDirs, tempDir } from './helpers.js';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
/** The CLI runs from the package's sources (no build first): workspace imports map to `src/`. */
const tsHooks = join(repo, 'scripts/ts-hooks.mjs');
const cli = join(repo, 'packages/events/src/cli/main.ts');

let dir: string;

function backlotEvents(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, ['--import', tsHooks, cli, ...args], {
    cwd: dir,
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

const git = (...args: string[]) => execFileSync('git', args, { cwd: dir, encoding: 'utf8' });

/** Writes the fixture catalogue module with `payload` as play.started's definition. */
function writeCatalog(definition: string): void {
  writeFileSync(
    join(dir, 'events.ts'),
    `import { defineEvent, defineEventCatalog } from '@backlot/events';
import { z } from 'zod';

export const events = defineEventCatalog({
  'play.started': ${definition},
  'search.performed': { version: 1, payload: z.object({ query: z.string() }) },
});
`,
  );
}

const V1 = `{ version: 1, payload: z.object({ profileId: z.string(), titleId: z.string() }) }`;

beforeAll(() => {
  dir = tempDir();
  // The fixture repository resolves zod from the workspace.
  symlinkSync(join(repo, 'node_modules'), join(dir, 'node_modules'));
  writeFileSync(join(dir, '.gitignore'), 'node_modules\n');
  git('init', '-q', '-b', 'main');
  git('config', 'user.email', 'ci@example.com');
  git('config', 'user.name', 'CI');
  writeCatalog(V1);
  const exported = backlotEvents('export', '--catalog', 'events.ts#events', '--out', 'events.schema.json');
  expect(exported.stderr).toMatch(/wrote 2 event version schema\(s\) to events.schema.json/);
  expect(exported.code).toBe(0);
  git('add', '.');
  git('commit', '-q', '-m', 'catalogue v1 and its snapshot');
}, 120_000);

afterAll(() => removeTempDirs());

describe('backlot-events CLI in a git repository', () => {
  it('export writes one stable, sorted snapshot (the same text on every run)', () => {
    const again = backlotEvents('export', '--catalog', 'events.ts');
    expect(again.code).toBe(0);
    expect(again.stdout).toBe(readFileSync(join(dir, 'events.schema.json'), 'utf8'));
    const snapshot = JSON.parse(again.stdout);
    expect(Object.keys(snapshot.events)).toEqual(['play.started', 'search.performed']);
    expect(snapshot.events['play.started'].versions['1'].schema.required).toEqual(['profileId', 'titleId']);
  });

  it('a breaking change fails the check against the committed ref (exit 1), naming the field and the rule', () => {
    writeCatalog(
      `{ version: 1, payload: z.object({ profileId: z.string(), titleId: z.number(), device: z.enum(['tv', 'web']) }) }`,
    );
    const result = backlotEvents('check', '--catalog', 'events.ts#events', '--against', 'HEAD');
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('2 breaking change(s) (backward) against HEAD');
    expect(result.stdout).toContain('play.started v1 payload.titleId: type-changed (backward)');
    expect(result.stdout).toContain('play.started v1 payload.device: field-added-required (backward)');
  });

  it('a safe change passes (exit 0), at every level', () => {
    writeCatalog(
      `{ version: 1, payload: z.object({ profileId: z.string(), titleId: z.string(), device: z.enum(['tv', 'web']).optional() }) }`,
    );
    for (const level of ['backward', 'forward', 'full']) {
      const result = backlotEvents('check', '--catalog', 'events.ts', '--against', 'main', '--level', level);
      expect(result.stdout).toBe(`backlot-events: compatible (${level}) with main\n`);
      expect(result.code).toBe(0);
    }
  });

  it('a new version with an upcaster passes backward (consumers first) and fails forward (version-added)', () => {
    writeCatalog(`defineEvent({ ...${V1}, examples: [{ profileId: 'p', titleId: 't' }] }).evolve({
    version: 2,
    payload: z.object({ profileId: z.string(), titleId: z.string(), device: z.enum(['tv', 'web']) }),
    upcast: (v1) => ({ ...v1, device: 'tv' as const }),
  })`);
    expect(backlotEvents('check', '--catalog', 'events.ts', '--against', 'HEAD').code).toBe(0);
    const forward = backlotEvents('check', '--catalog', 'events.ts', '--against', 'HEAD', '--level', 'forward');
    expect(forward.code).toBe(1);
    expect(forward.stdout).toContain('play.started v2: version-added (forward)');
  });

  it('checks against a snapshot file and against <ref>:<path>', () => {
    writeCatalog(`{ version: 1, payload: z.object({ profileId: z.string() }) }`);
    expect(backlotEvents('check', '--catalog', 'events.ts', '--against', 'events.schema.json').code).toBe(0);
    const forward = backlotEvents(
      'check',
      '--catalog',
      'events.ts',
      '--against',
      'HEAD:events.schema.json',
      '--level',
      'full',
    );
    expect(forward.code).toBe(1);
    expect(forward.stdout).toContain('play.started v1 payload.titleId: field-removed (forward)');
  });

  it('usage and input errors exit 2 naming the flag', () => {
    const cases: [string[], RegExp][] = [
      [['check', '--catalog', 'events.ts'], /--against is required/],
      [
        ['check', '--catalog', 'events.ts', '--against', 'HEAD', '--level', 'sideways'],
        /--level must be 'backward', 'forward' or 'full'/,
      ],
      [['check', '--against', 'HEAD'], /--catalog is required/],
      [
        ['check', '--catalog', 'events.ts', '--against', 'no-such-ref'],
        /--against: 'no-such-ref' is not a file, and git show no-such-ref:.\/events.schema.json failed/,
      ],
      [['check', '--catalog', 'missing.ts', '--against', 'HEAD'], /--catalog: .*missing.ts does not exist/],
      [
        ['check', '--catalog', 'events.ts#nope', '--against', 'HEAD'],
        /--catalog: events.ts has no catalogue export 'nope' \(exports: events\)/,
      ],
      [['publish'], /unknown command 'publish'/],
      [['export', '--catalog', 'events.ts', '--bogus'], /Unknown option '--bogus'/],
      [['check', '--catalog', 'events.ts', '--against', '.gitignore'], /schema snapshot: .gitignore is not JSON/],
      [['export', '--catalog', 'events.ts', '--timeout', 'soon'], /--timeout must be a number of milliseconds/],
      [['export', '--catalog', 'throws.ts'], /--catalog: cannot import .*throws.ts: the catalogue module failed/],
      // A module whose import never settles: the deadline ends it (never a silent exit 0).
      [
        ['export', '--catalog', 'hangs.ts', '--timeout', '500'],
        /--catalog: cannot import .*hangs.ts: importing it took longer than 500 ms/,
      ],
    ];
    writeFileSync(join(dir, 'throws.ts'), "throw new Error('the catalogue module failed');\n");
    writeFileSync(join(dir, 'hangs.ts'), 'await new Promise(() => {});\nexport const events = {};\n');
    for (const [args, message] of cases) {
      const result = backlotEvents(...args);
      expect(result.stderr, args.join(' ')).toMatch(message);
      expect(result.code, args.join(' ')).toBe(2);
    }
    expect(existsSync(join(dir, 'events.schema.json'))).toBe(true);
  });
});
