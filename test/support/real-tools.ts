/**
 * Finds the real programs that validate rendered configs (postconf, nginx, …).
 * A missing program skips the test with the Debian package to install, except
 * in CI (MAILPLANE_REQUIRE_TOOLS=1), where it fails: CI installs them
 * (.ci/apt-packages.txt), so absence there is a broken setup, not a pass.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

// Validators live in sbin, which a non-root PATH often lacks.
const EXTRA_DIRS = ['/usr/local/sbin', '/usr/sbin', '/sbin'];

export function findProgram(name: string): string | undefined {
  const dirs = [...(process.env['PATH'] ?? '').split(delimiter).filter(Boolean), ...EXTRA_DIRS];
  for (const dir of dirs) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

export const toolsRequired = () => process.env['MAILPLANE_REQUIRE_TOOLS'] === '1';

/** The part of vitest's test context this needs (ctx.skip with a note). */
interface SkippableContext {
  skip(note?: string): never;
}

/** The program's path, or the test is skipped (fails under MAILPLANE_REQUIRE_TOOLS=1) naming the Debian package. */
export function requireProgram(ctx: SkippableContext, name: string, debianPackage: string): string {
  const found = findProgram(name);
  if (found) return found;
  const message = `${name} not found: install the Debian package ${debianPackage}`;
  if (toolsRequired()) throw new Error(`${message} (MAILPLANE_REQUIRE_TOOLS=1)`);
  return ctx.skip(message);
}

/** Skips (or fails in CI) when the test needs root, e.g. `postfix check` on the system's queue directory. */
export function requireRoot(ctx: SkippableContext, why: string): void {
  if (process.getuid?.() === 0) return;
  if (toolsRequired()) throw new Error(`needs root: ${why} (MAILPLANE_REQUIRE_TOOLS=1)`);
  ctx.skip(`needs root: ${why}`);
}

export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function run(program: string, args: readonly string[], options: { input?: string; env?: NodeJS.ProcessEnv; cwd?: string } = {}): RunResult {
  const result = spawnSync(program, args, { encoding: 'utf8', input: options.input, env: options.env ?? process.env, cwd: options.cwd, timeout: 60_000 });
  if (result.error) throw result.error;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}
