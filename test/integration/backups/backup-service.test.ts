/**
 * Backups on the sandbox: emulated hosts (backup.sh answered as simulated) and the
 * Object Storage emulator behind the real adapter. What the API, the page, the
 * drill, the health check, the metrics and the deprovision/erasure paths make of it.
 */
import { and, desc, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backupBeforeChange } from '../../../src/backups/before-change.ts';
import { runDrill } from '../../../src/backups/drill.ts';
import { maintainRepository } from '../../../src/backups/maintenance.ts';
import { sweepBackups } from '../../../src/backups/schedule.ts';
import { alerts, auditLog, backupRepositories, backupRestores, backupRuns, provisioningSteps, servers, vaultSecrets } from '../../../src/db/schema/index.ts';
import { collectMetrics } from '../../../src/ops/metrics.ts';
import { startHarness, type Harness } from '../../support/provisioning.ts';
import { until as waitUntil } from '../../support/until.ts';

let h: Harness;
let owner: { token: string; workspaceId: string };
let serverId: string;

const until = <T>(what: string, probe: () => Promise<T | null | undefined | false>, timeoutMs = 60_000) => waitUntil(what, probe, timeoutMs, 50);

const runsOf = (id: string) => h.database.db.select().from(backupRuns).where(eq(backupRuns.serverId, id)).orderBy(desc(backupRuns.startedAt));

beforeAll(async () => {
  h = await startHarness();
  owner = await h.customer('backup-owner@example.com');
  ({ serverId } = await h.readyServer(owner.token, owner.workspaceId, 'backups.example'));
}, 180_000);

afterAll(async () => {
  await h?.close();
});

describe('backups of an emulated server', () => {
  it("backs up on request: the repository in the server's region, its secrets in the vault, the run marked simulated", async () => {
    const before = await h.call('GET', `/v1/workspaces/${owner.workspaceId}/servers/${serverId}/backups`, { token: owner.token });
    expect(before.status).toBe(200);
    expect(before.body).toMatchObject({ configured: true, simulated: true, lastSuccess: null, runs: [] });
    expect(Date.parse(before.body.nextScheduledAt)).toBeGreaterThan(Date.now() - 60_000);

    const post = await h.call('POST', `/v1/workspaces/${owner.workspaceId}/servers/${serverId}/backups`, { token: owner.token });
    expect(post.status, JSON.stringify(post.body)).toBe(202);
    const run = await until('the backup', async () => (await runsOf(serverId)).find((r) => r.status !== 'running'));
    expect(run).toMatchObject({ status: 'succeeded', reason: 'manual', simulated: true });
    expect(run.manifest?.mailboxes).toEqual({});

    const [repo] = await h.database.db.select().from(backupRepositories).where(eq(backupRepositories.serverId, serverId));
    expect(repo).toMatchObject({ region: 'fr-par', bucket: expect.stringContaining(serverId) });
    const secrets = await h.database.db.select({ purpose: vaultSecrets.purpose }).from(vaultSecrets).where(eq(vaultSecrets.ownerId, serverId));
    expect(secrets.map((s) => s.purpose)).toEqual(expect.arrayContaining(['restic_password', 'backup_credential']));
    // The env file reached the host, root-only, with the server's own key and not the admin one.
    const [row] = await h.database.db.select().from(servers).where(eq(servers.id, serverId));
    const env = await h.sandbox.ssh!.file(row!.providerServerId!, '/etc/mailplane/backup.env');
    expect(env!.mode & 0o777).toBe(0o600);
    const admin = await h.ctx.backups.storage!.adminAccess({ serverId, region: 'fr-par' });
    expect(env!.content.toString('utf8')).toContain(`AWS_ACCESS_KEY_ID='`);
    expect(env!.content.toString('utf8')).not.toContain(admin.secretAccessKey);

    const after = await h.call('GET', `/v1/workspaces/${owner.workspaceId}/servers/${serverId}/backups`, { token: owner.token });
    expect(after.body.lastSuccess).toMatchObject({ id: run.id, simulated: true });
    expect(after.body.lastSuccessAgeSeconds).toBeLessThan(120);
  });

  it('skips, and says so, the drill and the check of a simulated snapshot instead of faking them', async () => {
    const drill = await runDrill(h.ctx.backups, serverId);
    expect(drill).toMatchObject({ status: 'skipped', messagesCompared: 0 });
    expect(String(drill!.details['why'])).toContain('simulated');
    expect(await maintainRepository(h.ctx.backups, serverId)).toMatchObject({ outcome: 'skipped' });
    const page = await fetch(`${h.baseUrl}/w/${owner.workspaceId}/servers/${serverId}/backups`, { headers: { cookie: `mailplane_session=${owner.token}` } });
    const api = await h.call('GET', `/v1/workspaces/${owner.workspaceId}/servers/${serverId}/backups`, { token: owner.token });
    expect(api.body.lastDrill).toMatchObject({ status: 'skipped' });
    expect(page.status).toBe(200);
    const text = await page.text();
    expect(text).toContain('simulated');
    expect(text).toContain('skipped');
  });

  it('counts the backup in the health checks and the metrics', async () => {
    // The first health run came with `ready`, before any backup (it found none due yet): the run asked
    // for now, or one already queued behind it, is the one that sees the backup.
    const checks = await h.call('POST', `/v1/workspaces/${owner.workspaceId}/servers/${serverId}/checks/run`, { token: owner.token });
    expect(checks.status).toBe(202);
    const stored = await until('a backup check that sees the backup', async () => {
      const res = await h.call('GET', `/v1/workspaces/${owner.workspaceId}/servers/${serverId}/checks`, { token: owner.token });
      return res.body.checks.find((c: { name: string; summary: string }) => c.name === 'backups' && !c.summary.startsWith('No backup is due yet'));
    });
    expect(stored).toMatchObject({ status: 'pass', summary: expect.stringContaining('simulated') });
    const metrics = await collectMetrics({ database: h.ctx.database, queue: h.ctx.queue });
    expect(metrics).toMatch(new RegExp(`mailplane_backup_last_success_age_seconds\\{server="${serverId}"\\} \\d+`));
    expect(metrics).toContain(`mailplane_backup_size_bytes{server="${serverId}"} 0`);
  });

  it('takes a backup before a step changes the live server, unless one is fresh', async () => {
    expect(await backupBeforeChange(h.ctx.backups, serverId, 'test')).toMatchObject({ outcome: 'fresh' });
    const stale = { ...h.ctx.backups, settings: { ...h.ctx.backups.settings, freshMinutes: 0 } };
    expect(await backupBeforeChange(stale, serverId, 'test')).toMatchObject({ outcome: 'taken' });
    // A support re-run of install_mail_stack on the ready server: the step backs up first (the last one is fresh).
    const staff = await h.staff('backup-support@example.com');
    const rerun = await h.call('POST', `/v1/admin/servers/${serverId}/steps/install_mail_stack/rerun`, { token: staff });
    expect(rerun.status, JSON.stringify(rerun.body)).toBe(202);
    await h.waitForStep(serverId, 'install_mail_stack', 'succeeded');
    const [step] = await h.database.db
      .select()
      .from(provisioningSteps)
      .where(eq(provisioningSteps.name, 'install_mail_stack'))
      .orderBy(desc(provisioningSteps.finishedAt))
      .limit(1);
    expect(step!.log).toContain('backup before the change');
  });

  it('restores a mailbox from a chosen backup on request (simulated on an emulated host)', async () => {
    const mb = await h.call('POST', `/v1/workspaces/${owner.workspaceId}/servers/${serverId}/mailboxes`, {
      token: owner.token,
      body: { localPart: 'restore-me' },
    });
    const [run] = await runsOf(serverId);
    const bad = await h.call('POST', `/v1/workspaces/${owner.workspaceId}/servers/${serverId}/mailboxes/${mb.body.mailbox.id}/restore`, {
      token: owner.token,
      body: { backupId: run!.id, folder: '../etc' },
    });
    expect(bad.status).toBe(400);
    const res = await h.call('POST', `/v1/workspaces/${owner.workspaceId}/servers/${serverId}/mailboxes/${mb.body.mailbox.id}/restore`, {
      token: owner.token,
      body: { backupId: run!.id },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    expect(res.body.restore).toMatchObject({ targetFolder: `Restored ${new Date().toISOString().slice(0, 10)}`, simulated: true });
    const done = await until('the restore', async () => {
      const [row] = await h.database.db.select().from(backupRestores).where(eq(backupRestores.id, res.body.restore.id));
      return row && row.status !== 'queued' && row.status !== 'running' ? row : null;
    });
    expect(done).toMatchObject({ status: 'succeeded', restoredMessages: 0 });
  });

  it('keeps a final backup when the server is deprovisioned, then deletes it after the grace period', async () => {
    const other = await h.customer('backup-leaver@example.com');
    const { serverId: leaving } = await h.readyServer(other.token, other.workspaceId, 'leaving.example');
    const [row] = await h.database.db.select().from(servers).where(eq(servers.id, leaving));
    await h.cancelSubscription(row!.subscriptionId);
    // Kept, suspended, for the billing grace period; the grace sweep deprovisions it once that is over.
    await h.waitForServer(leaving, ['suspended'], 60_000);
    await h.afterGracePeriod();
    await h.waitForServer(leaving, ['deleted'], 60_000);
    const [final] = await runsOf(leaving);
    expect(final).toMatchObject({ reason: 'final', status: 'succeeded' });
    const [repo] = await h.database.db.select().from(backupRepositories).where(eq(backupRepositories.serverId, leaving));
    expect(repo!.credentialsRevokedAt).not.toBeNull();
    expect(repo!.deleteAfter!.getTime() - Date.now()).toBeGreaterThan(29 * 86_400_000);
    expect(repo!.deletedAt).toBeNull();

    await h.database.db
      .update(backupRepositories)
      .set({ deleteAfter: new Date(Date.now() - 1000) })
      .where(eq(backupRepositories.serverId, leaving));
    expect((await sweepBackups(h.ctx.backups)).expired).toContain(leaving);
    const gone = await until('the expiry', async () => {
      const [r] = await h.database.db.select().from(backupRepositories).where(eq(backupRepositories.serverId, leaving));
      return r?.deletedAt ?? null;
    });
    expect(gone).toBeInstanceOf(Date);
    expect(await h.ctx.backups.storage!.countObjectVersions({ serverId: leaving, region: 'fr-par' })).toBe(0);
  }, 120_000);

  it('deletes the backups when the workspace is erased and records when the last copy was gone', async () => {
    const ws = await h.call('GET', `/v1/workspaces/${owner.workspaceId}`, { token: owner.token });
    const res = await h.call('DELETE', `/v1/workspaces/${owner.workspaceId}`, { token: owner.token, body: { confirm: ws.body.name } });
    expect(res.status).toBeLessThan(300);
    // The erasure waits out its grace period (owners may cancel); the sweep then starts it.
    expect(await h.afterErasureGrace()).toEqual([owner.workspaceId]);
    const entry = await until(
      'the erasure',
      async () => {
        const [e] = await h.database.db
          .select()
          .from(auditLog)
          .where(and(eq(auditLog.action, 'workspace.erased'), eq(auditLog.workspaceId, owner.workspaceId)));
        return e;
      },
      90_000,
    );
    expect(Date.parse(String(entry.details?.['backupsGoneAt']))).toBeGreaterThan(Date.now() - 120_000);
    expect(await h.ctx.backups.storage!.countObjectVersions({ serverId, region: 'fr-par' })).toBe(0);
    expect(await h.database.db.select().from(alerts).where(eq(alerts.serverId, serverId))).toEqual([]);
  }, 120_000);
});
