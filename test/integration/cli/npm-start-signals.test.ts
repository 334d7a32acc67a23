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
    for (const [child, parent] of parents)
      if (parent === p) {
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

async function newDataDir(): Promise<string> {
  const dataDir = await mkdtemp(join(tmpdir(), 'mailplane-npm-start-'));
  await chmod(dataDir, 0o755);
  dirs.push(dataDir);
  return dataDir;
}

/** `detached`: npm leads a process group of its own, as a terminal's foreground job does. */
async function npmStart(
  opts: { dataDir?: string; detached?: boolean } = {},
): Promise<{ npm: ChildProcess; url: string; dataDir: string; output: () => string }> {
  const dataDir = opts.dataDir ?? (await newDataDir());
  const npm = spawn('npm', ['start'], {
    cwd: ROOT,
    env: {
      PATH: process.env['PATH'] ?? '',
      HOME: process.env['HOME'] ?? dataDir,
      MAILPLANE_DATA_DIR: dataDir,
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: opts.detached ?? false,
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
  it.each(['SIGTERM', 'SIGINT'] as const)("on %s to npm's pid", async (signal) => {
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

/** The node process npm runs (`exec node src/main.ts`): npm's child. */
async function nodeOf(npm: ChildProcess): Promise<number> {
  let pid = 0;
  await waitFor("npm's node child", async () => {
    for (const child of await descendants(npm.pid!)) {
      if ((await readFile(`/proc/${child}/cmdline`, 'utf8').catch(() => '')).includes('src/main.ts')) pid = child;
    }
    return pid > 0;
  });
  return pid;
}

/** A stop is bounded (a supervisor kills what it waits for too long): every process gone within this. */
const STOP_WITHIN_MS = 15_000;

describe('a second signal hurries the stop and never abandons the database', { timeout: 180_000 }, () => {
  it('Ctrl-C in a terminal: SIGINT to the whole process group (node hears it twice)', async () => {
    const { npm, url, dataDir, output } = await npmStart({ detached: true });
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    const tree = await descendants(npm.pid!);
    const pg = await postgresPid(dataDir);
    pidsToReap.push(...tree, pg);

    process.kill(-npm.pid!, 'SIGINT');
    await waitFor('every process of the group to exit', () => !alive(npm.pid!) && tree.every((pid) => !alive(pid)), STOP_WITHIN_MS);
    await waitFor('the embedded PostgreSQL to stop', () => !alive(pg), STOP_WITHIN_MS);
    expect(output()).toMatch(/stopping: waiting for the embedded PostgreSQL to stop/);
    expect(output()).toMatch(/embedded PostgreSQL: stopped/);
  });

  it('two SIGTERMs in a row: the second hurries, the database is still stopped', async () => {
    const { npm, url, dataDir, output } = await npmStart();
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    const node = await nodeOf(npm);
    const pg = await postgresPid(dataDir);
    pidsToReap.push(node, pg);

    process.kill(node, 'SIGTERM');
    await waitFor('the stop to begin', () => /shutting down/.test(output()));
    await new Promise((r) => setTimeout(r, 300)); // past the window in which two signals count as one Ctrl-C
    if (alive(node)) process.kill(node, 'SIGTERM');
    await waitFor('node to exit', () => !alive(node), STOP_WITHIN_MS);
    await waitFor('the embedded PostgreSQL to stop', () => !alive(pg), STOP_WITHIN_MS);
    expect(output()).toMatch(/embedded PostgreSQL: stopped/);
  });

  it('a server left running by a killed mailplane is taken over by the next start and stopped with it', async () => {
    const dataDir = await newDataDir();
    const first = await npmStart({ dataDir });
    const node = await nodeOf(first.npm);
    const pg = await postgresPid(dataDir);
    pidsToReap.push(node, pg);
    process.kill(node, 'SIGKILL'); // no handler runs: the database is orphaned
    await waitFor('npm to exit', () => first.npm.exitCode !== null || first.npm.signalCode !== null);
    expect(alive(pg)).toBe(true);

    const second = await npmStart({ dataDir });
    expect(await postgresPid(dataDir)).toBe(pg);
    expect(second.output()).toMatch(/taking over the server left running/);
    const exited = new Promise<void>((resolve) => second.npm.once('exit', () => resolve()));
    second.npm.kill('SIGTERM');
    await exited;
    await waitFor('the orphaned PostgreSQL to stop', () => !alive(pg), STOP_WITHIN_MS);
  });
});
