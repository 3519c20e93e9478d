// Releases the @backlot/* packages with changesets.
//
//   npm run release              version (changeset version), build, check, publish (changeset publish)
//   npm run release -- --dry-run show the version plan and what would be published; changes nothing
import { spawnSync } from 'node:child_process';

const dryRun = process.argv.includes('--dry-run');

function step(title, command, args) {
  console.log(`\n▶ ${title}: ${command} ${args.join(' ')}`);
  const result = spawnSync(command, args, { stdio: 'inherit' });
  if (result.status !== 0) {
    console.error(`✗ ${title} failed (exit ${result.status})`);
    process.exit(result.status ?? 1);
  }
}

if (dryRun) {
  step('version plan (pending changesets)', 'changeset', ['status', '--verbose']);
} else {
  step('version packages', 'changeset', ['version']);
  step('refresh lockfile', 'npm', ['install', '--package-lock-only', '--ignore-scripts']);
}
step('build', 'npm', ['run', 'build']);
step('check exports', 'npm', ['run', 'check:exports']);
step('check pack contents', 'npm', ['run', 'check:pack']);
if (dryRun) {
  step('publish plan (versions not yet on the registry)', 'changeset', ['publish-plan']);
  console.log('\ndry run: nothing was versioned or published');
} else {
  step('publish', 'changeset', ['publish']);
}
