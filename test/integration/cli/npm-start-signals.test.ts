/**
 * `npm start` as an operator runs it: SIGTERM or SIGINT to the pid they got
 * (npm's) stops everything npm started — the node process, the HTTP port and
 * the embedded PostgreSQL — not only npm.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const started: ChildProcess[] = [];
const dirs: string[] = [];
const pidsToReap: number[] = [];

afterAll(async () => {
  for (const child of started) if (child.exitCode === null) child.kill('SIGKILL');
  for (const pid of pidsToReap) if (alive(pid)) process.kill(pid, 'SIGKILL');
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Every live descendant of `pid`, read from /proc. */
async function descendants(pid: number): Promise<number[]> {
  const parents = new Map<number, number>();
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const text = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => null);
    if (!text) continue;
    // Fields after the parenthesised command: state, ppid, …
    const ppid = Number(text.slice(text.lastIndexOf(')') + 2).split(' ')[1]);
    parents.set(Number(entry), ppid);
  }
  const found: number[] = [];
  const walk = (p: number) => {
    for (const [child, parent] of parents) if (parent === p) {
      found.push(child);
      walk(child);
    }
  };
  walk(pid);
  return found;
}

async function waitFor(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function npmStart(): Promise<{ npm: ChildProcess; url: string; dataDir: string; output: () => string }> {
  const dataDir = await mkdtemp(join(tmpdir(), 'mailplane-npm-start-'));
  await chmod(dataDir, 0o755);
  dirs.push(dataDir);
  const npm = spawn('npm', ['start'], {
    cwd: ROOT,
    env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? dataDir, MAILPLANE_DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.push(npm);
  let out = '';
  const url = await new Promise<string>((resolve, reject) => {
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) resolve(m[1]!);
    };
    npm.stdout!.on('data', onData);
    npm.stderr!.on('data', onData);
    npm.once('exit', (code) => reject(new Error(`npm start exited with ${code} before listening:\n${out}`)));
  });
  return { npm, url, dataDir, output: () => out };
}

async function postgresPid(dataDir: string): Promise<number> {
  const text = await readFile(join(dataDir, 'postgres', 'data', 'postmaster.pid'), 'utf8');
  return Number(text.split('\n')[0]);
}

describe('npm start stops everything it started', { timeout: 180_000 }, () => {
  it.each(['SIGTERM', 'SIGINT'] as const)('on %s to npm\'s pid', async (signal) => {
    const { npm, url, dataDir, output } = await npmStart();
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    const tree = await descendants(npm.pid!);
    const pg = await postgresPid(dataDir);
    pidsToReap.push(...tree, pg);
    expect(alive(pg)).toBe(true);

    const exited = new Promise<number | null>((resolve) => npm.once('exit', (code) => resolve(code)));
    npm.kill(signal);
    await exited;
    await waitFor('every process npm started to exit', () => tree.every((pid) => !alive(pid)));
    await waitFor('the embedded PostgreSQL to stop', () => !alive(pg));
    await expect(stat(join(dataDir, 'postgres', 'data', 'postmaster.pid'))).rejects.toThrow();
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
    expect(output()).toMatch(/shutting down/);
    expect(output()).toMatch(/stopped/);
  });
});
