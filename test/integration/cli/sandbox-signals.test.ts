/**
 * `mailplane sandbox` run in a terminal: Ctrl-C signals the whole foreground
 * process group, and a hurried person presses it twice. The emulators stop and
 * the process exits either way; no signal kills it before its stop (which, with
 * real hosts, powers off their machines and takes down their network).
 */
import { spawn } from 'node:child_process';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MAILPLANE_BIN } from '../../support/cli.ts';
import { until } from '../../support/until.ts';

const dirs: string[] = [];
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

describe('mailplane sandbox stops when told', { timeout: 90_000 }, () => {
  it('on Ctrl-C pressed twice to its process group: the emulators stop, then the process exits cleanly', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'mailplane-sandbox-signals-'));
    await chmod(dataDir, 0o755);
    dirs.push(dataDir);
    const child = spawn(process.execPath, [MAILPLANE_BIN, 'sandbox'], {
      env: { PATH: process.env['PATH'] ?? '', HOME: dataDir, MAILPLANE_DATA_DIR: dataDir, LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const url = await until('the Scaleway emulator URL', async () => /export SCW_API_URL=(\S+)/.exec(out)?.[1], 60_000);
    expect((await fetch(`${url}/instance/v1/zones/fr-par-1/servers`, { headers: { 'x-auth-token': 'x' } })).status).toBeLessThan(500);

    // Two presses in a row, as a terminal delivers them: a second signal with no handler would kill node (exit code null).
    process.kill(-child.pid!, 'SIGINT');
    process.kill(-child.pid!, 'SIGINT');
    expect(await exited, out).toBe(0);
    expect(out).toMatch(/stopping: waiting for the sandbox emulators to stop/);
    expect(out).toMatch(/\bstopped\b/);
    await expect(fetch(`${url}/instance/v1/zones/fr-par-1/servers`)).rejects.toThrow();
  });
});
