/**
 * Refreshes the README's pictures: runs the dashboard journeys (which save their screenshots into
 * an ignored folder, so `npm test` never changes tracked files) and copies them over docs/screenshots/.
 */
import { spawnSync } from 'node:child_process';
import { cp, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const shots = await mkdtemp(join(tmpdir(), 'mailplane-screenshots-'));
const run = spawnSync('npx', ['vitest', 'run', 'test/e2e/dashboard'], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, MAILPLANE_SCREENSHOTS_DIR: shots },
});
if (run.status !== 0) {
  console.error('the browser journeys failed: docs/screenshots/ left as it was');
  process.exit(run.status ?? 1);
}
const files = (await readdir(shots)).filter((f) => f.endsWith('.png'));
for (const file of files) await cp(join(shots, file), join(root, 'docs/screenshots', file));
await rm(shots, { recursive: true, force: true });
console.log(`docs/screenshots/: ${files.length} pictures refreshed`);
