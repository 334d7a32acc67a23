/**
 * The ops and support commands from a shell see the world of the running
 * product: its sandbox, found through the emulator URLs it records in the data
 * dir (or SANDBOX_URL). With no running sandbox they say so and exit non-zero
 * when they need the providers — never start empty emulators of their own and
 * raise alerts about servers those emulators never held.
 */
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordEmulatorUrls } from '../../../src/sandbox/person-settings.ts';
import { runMailplane } from '../../support/cli.ts';
import { startHarness, type Harness } from '../../support/provisioning.ts';

let h: Harness;
let serverId: string;
let emptyDir: string;

/** The environment of a person's shell: the database and secrets, no provider credentials, no SANDBOX_URL. */
function shellEnv(dataDir: string): Record<string, string> {
  const sandboxKeys = new Set(Object.keys(h.sandbox.env()));
  const env = Object.fromEntries(Object.entries(h.env).filter(([k]) => !sandboxKeys.has(k)));
  return { ...env, MAILPLANE_DATA_DIR: dataDir, LOG_LEVEL: 'warn', USER: 'ops-person' };
}

const ghostAlerts = async () => (await h.database.sql`select count(*)::int as n from alerts where kind = 'ghost_resource'`)[0]!['n'] as number;

beforeAll(async () => {
  h = await startHarness();
  // What `npm start` does once its emulators listen.
  await recordEmulatorUrls(h.sandbox, h.env['MAILPLANE_DATA_DIR']!);
  emptyDir = await mkdtemp(join(tmpdir(), 'mailplane-cli-nosandbox-'));
  const { token, workspaceId } = await h.customer('cli-running@example.com');
  ({ serverId } = await h.readyServer(token, workspaceId, 'cli-running.example'));
}, 180_000);
afterAll(async () => {
  await h?.close();
  if (emptyDir) await rm(emptyDir, { recursive: true, force: true });
});

describe('the CLI and the running sandbox', { timeout: 90_000 }, () => {
  it("reconcile uses the running product's emulators: its ready server is no ghost, and the record is left as it was", async () => {
    const urlsFile = join(h.env['MAILPLANE_DATA_DIR']!, 'sandbox-emulators.json');
    const recorded = await readFile(urlsFile, 'utf8');
    const run = await runMailplane(['reconcile', '--json'], shellEnv(h.env['MAILPLANE_DATA_DIR']!));
    expect(run.code, run.stderr).toBe(0);
    const result = JSON.parse(run.stdout) as { findings: { kind: string; serverId: string | null }[] };
    expect(result.findings.filter((f) => f.kind === 'ghost')).toEqual([]);
    expect(await ghostAlerts()).toBe(0);
    // The CLI started no emulators of its own, so it recorded none over the product's.
    expect(await readFile(urlsFile, 'utf8')).toBe(recorded);
  });

  it('with no running sandbox, reconcile and ips rotate say so and exit non-zero, storing nothing', async () => {
    const reconcile = await runMailplane(['reconcile'], shellEnv(emptyDir));
    expect(reconcile.code).toBe(1);
    expect(reconcile.stderr).toMatch(/no running sandbox/i);
    expect(reconcile.stderr).not.toMatch(/\n\s+at /);
    expect(await ghostAlerts()).toBe(0);

    const rotate = await runMailplane(['ips', 'rotate', serverId, '192.0.2.1'], shellEnv(emptyDir));
    expect(rotate.code).toBe(1);
    expect(rotate.stderr).toMatch(/no running sandbox/i);
    // No emulators were started, so none were recorded.
    await expect(stat(join(emptyDir, 'sandbox-emulators.json'))).rejects.toThrow();
  });

  it('a record left by a product that is gone is not a running sandbox', async () => {
    const staleDir = await mkdtemp(join(tmpdir(), 'mailplane-cli-stale-'));
    try {
      const { Sandbox } = await import('../../../src/sandbox/sandbox.ts');
      const gone = new Sandbox({ compute: true, dns: true, billing: true, dataDir: staleDir, dnsblZones: [] });
      await gone.start();
      await recordEmulatorUrls(gone, staleDir);
      await gone.stop();
      const run = await runMailplane(['reconcile'], shellEnv(staleDir));
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/does not answer/);
      expect(await ghostAlerts()).toBe(0);
    } finally {
      await rm(staleDir, { recursive: true, force: true });
    }
  });

  it('servers list and show need only the database: they work with no sandbox and start none', async () => {
    const list = await runMailplane(['servers', 'list', '--json'], shellEnv(emptyDir));
    expect(list.code, list.stderr).toBe(0);
    expect(JSON.parse(list.stdout).map((s: { id: string }) => s.id)).toContain(serverId);
    const show = await runMailplane(['servers', 'show', serverId], shellEnv(emptyDir));
    expect(show.code, show.stderr).toBe(0);
    expect(show.stdout).toContain('mail.cli-running.example  ready');
    await expect(stat(join(emptyDir, 'sandbox-emulators.json'))).rejects.toThrow();
  });
});
