/**
 * What a fresh machine does: `mailplane api` with no DATABASE_URL starts the
 * embedded PostgreSQL, serves /readyz, stops the database on SIGTERM, and the
 * next start finds the same data.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { STRONG_PASSWORD } from '../../support/api.ts';
import { runMailplane } from '../../support/cli.ts';

const BIN = fileURLToPath(new URL('../../../bin/mailplane.js', import.meta.url));
const children: ChildProcessWithoutNullStreams[] = [];
let dataDir: string | undefined;

afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

interface Started {
  url: string;
  child: ChildProcessWithoutNullStreams;
  output: () => string;
}

/** Starts `mailplane api` and resolves once it prints the URL it listens on. */
function start(dir: string): Promise<Started> {
  const child = spawn(process.execPath, [BIN, 'api'], {
    env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? dir, MAILPLANE_DATA_DIR: dir, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info' },
  });
  children.push(child);
  let out = '';
  return new Promise((resolve, reject) => {
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) resolve({ url: m[1]!, child, output: () => out });
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => reject(new Error(`mailplane exited with ${code} before listening:\n${out}`)));
  });
}

function stop(child: ChildProcessWithoutNullStreams): Promise<number | null> {
  return new Promise((resolve) => {
    child.once('exit', (code) => resolve(code));
    child.kill('SIGTERM');
  });
}

const post = (url: string, body: unknown) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

// Two starts and stops of the product with its embedded PostgreSQL, and two CLI runs.
describe('mailplane api on a fresh data dir', { timeout: 240_000 }, () => {
  it('serves /readyz with the embedded database, stops it on SIGTERM, and reuses the data on the next start', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'mailplane-start-'));
    await chmod(dataDir, 0o755);

    const first = await start(dataDir);
    // No provider credentials: every provider is an emulator, announced, and on loopback only.
    for (const provider of ['scaleway', 'cloudflare', 'stripe'])
      expect(first.output()).toMatch(new RegExp(`sandbox: ${provider} at http://127\\.0\\.0\\.1:\\d+`));
    expect(first.output()).toMatch(/sandbox: dns at udp:\/\/127\.0\.0\.1:\d+/);
    const addresses = [...first.output().matchAll(/(?:https?|udp):\/\/([^/:\s]+)/g)].map((m) => m[1]);
    expect(new Set(addresses)).toEqual(new Set(['127.0.0.1']));
    const ready = await fetch(`${first.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ok' });
    const signup = await post(`${first.url}/v1/auth/signup`, { email: 'first-run@example.com', password: STRONG_PASSWORD, name: 'First Run' });
    expect(signup.status).toBe(202);
    // Where the CLI finds the running sandbox: its control API answers with the emulators' environment.
    const recorded = JSON.parse(await readFile(join(dataDir, 'sandbox-emulators.json'), 'utf8')) as { control: string };
    expect(await (await fetch(`${recorded.control}/env`)).json()).toMatchObject({ SCW_API_URL: expect.stringMatching(/^http:\/\/127\.0\.0\.1:/) });
    // The ops CLI from another shell uses that sandbox (and the running embedded database): nothing is a ghost.
    const shell = { HOME: process.env['HOME'] ?? dataDir, MAILPLANE_DATA_DIR: dataDir, LOG_LEVEL: 'warn' };
    const reconcile = await runMailplane(['reconcile', '--json'], shell);
    expect(reconcile.code, reconcile.stderr).toBe(0);
    // (The development-secret warnings are logged to stdout before the JSON.)
    expect(JSON.parse(reconcile.stdout.slice(reconcile.stdout.search(/^\{/m)))).toMatchObject({ findings: [] });
    expect(await stop(first.child)).toBe(0);
    const afterStop = await runMailplane(['reconcile'], shell);
    expect(afterStop.code).toBe(1);
    expect(afterStop.stderr).toMatch(/no running sandbox/);
    // Stopped: no record names emulators that are gone, and the emulators' accounts were kept.
    await expect(stat(join(dataDir, 'sandbox-emulators.json'))).rejects.toThrow();
    expect((await stat(join(dataDir, 'sandbox-state', 'emulators.json'))).isFile()).toBe(true);
    // pg_ctl removes postmaster.pid when the server has shut down.
    await expect(stat(join(dataDir, 'postgres', 'data', 'postmaster.pid'))).rejects.toThrow();

    const second = await start(dataDir);
    const login = await post(`${second.url}/v1/auth/login`, { email: 'first-run@example.com', password: STRONG_PASSWORD });
    expect(login.status).toBe(200);
    expect(await stop(second.child)).toBe(0);
  });
});
