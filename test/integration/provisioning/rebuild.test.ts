/**
 * Rebuilding a server on the sandbox: a server whose instance was lost (terminated
 * with its disk) comes back on a new instance with the same IPs, the same SSH host
 * key, the same TLS key (so its TLSA record stays valid), the same DNS records and
 * its mailboxes, restoring the snapshot its last backup took. A living server is
 * backed up once more before its instance is retired. The emulated hosts simulate
 * restic (the real-host suite restores real mail); everything else here is real.
 */
import { and, desc, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog, backupRuns, dnsRecords, provisioningRuns, provisioningSteps, servers } from '../../../src/db/schema/index.ts';
import { serverTag } from '../../../provisioning/tags.ts';
import { startHarness, type Harness } from '../../support/provisioning.ts';
import { until } from '../../support/until.ts';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

const row = async (id: string) => (await h.database.db.select().from(servers).where(eq(servers.id, id)))[0]!;
const publishedRecords = async (id: string) =>
  (
    await h.database.db
      .select({ id: dnsRecords.providerRecordId, type: dnsRecords.type, content: dnsRecords.content })
      .from(dnsRecords)
      .where(and(eq(dnsRecords.serverId, id), eq(dnsRecords.state, 'published')))
  )
    .map((r) => `${r.type} ${r.id} ${r.content}`)
    .sort();
const latestRun = async (id: string) =>
  (await h.database.db.select().from(provisioningRuns).where(eq(provisioningRuns.serverId, id)).orderBy(desc(provisioningRuns.createdAt)).limit(1))[0]!;
const stepOutput = async (runId: string, name: string) =>
  (
    await h.database.db
      .select()
      .from(provisioningSteps)
      .where(and(eq(provisioningSteps.runId, runId), eq(provisioningSteps.name, name)))
  )[0]?.output as Record<string, unknown> | undefined;

async function scaleway(path: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${h.sandbox.scaleway!.url}/instance/v1/zones/fr-par-1${path}`, {
    ...init,
    headers: { 'x-auth-token': h.env['SCW_SECRET_KEY']!, 'content-type': 'application/json' },
  });
}

describe('rebuilding a server', () => {
  it('brings a lost server back on a new instance with its IPs, keys, DNS, mailboxes and last snapshot', async () => {
    const { token, workspaceId } = await h.customer('rebuild@example.org');
    const { serverId } = await h.readyServer(token, workspaceId, 'rebuild-mail.example');
    const base = `/v1/workspaces/${workspaceId}/servers/${serverId}`;
    const created = await h.call('POST', `${base}/mailboxes`, { token, body: { localPart: 'alice' } });
    expect(created.status).toBe(201);
    const backup = await h.call('POST', `${base}/backups`, { token });
    expect(backup.status, JSON.stringify(backup.body)).toBeLessThan(300);
    const taken = await until(
      'a successful backup',
      async () =>
        (
          await h.database.db
            .select()
            .from(backupRuns)
            .where(and(eq(backupRuns.serverId, serverId), eq(backupRuns.status, 'succeeded')))
        )[0],
    );
    const before = await row(serverId);
    const recordsBefore = await publishedRecords(serverId);

    // The instance is lost with its disk: terminated behind mailplane's back.
    expect(
      (await scaleway(`/servers/${before.providerServerId}/action`, { method: 'POST', body: JSON.stringify({ action: 'terminate' }) })).status,
    ).toBeLessThan(300);
    await until('the instance to be gone', async () => (await scaleway(`/servers/${before.providerServerId}`)).status === 404);

    const member = await h.call('POST', `${base}/rebuild`, { token: await memberOf(workspaceId), body: { reason: 'the server was lost' } });
    expect(member.status).toBe(403);
    const started = await h.call('POST', `${base}/rebuild`, { token, body: { reason: 'the server was lost' } });
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    expect((await h.call('POST', `${base}/rebuild`, { token, body: { reason: 'twice' } })).status).toBe(409);
    const after = await h.waitForServer(serverId, ['ready', 'failed'], 120_000);
    expect(after.status, after.statusReason ?? '').toBe('ready');

    expect(after.providerServerId).not.toBe(before.providerServerId);
    // The same IPv4 and the same IPv6: mailplane fixes the address in the routed /64, which moved with
    // its flexible IP; the new instance's own SLAAC address (another MAC) is not what DNS names.
    expect(after.ipv4).toBe(before.ipv4);
    expect(after.ipv6).toBe(before.ipv6);
    expect(h.sandbox.scaleway!.hostIpv6(after.providerServerId!)).not.toBe(after.ipv6);
    expect(after.sshHostKeyFingerprint).toBe(before.sshHostKeyFingerprint);
    expect(after.tlsSpkiSha256).toBe(before.tlsSpkiSha256);
    // Every record exactly as it was, the same provider record ids included: AAAA, SPF, TLSA, DKIM, MX…
    expect(await publishedRecords(serverId)).toEqual(recordsBefore);
    expect(recordsBefore.some((r) => r.startsWith('AAAA ') && r.endsWith(` ${before.ipv6}`))).toBe(true);
    // The PTR of the IPv6 still names the server, and the new host holds the address.
    expect(h.sandbox.scaleway!.reverseOf(after.ipv6!)?.replace(/\.$/, '')).toBe(after.hostname);

    const run = await latestRun(serverId);
    expect(run.kind).toBe('rebuild');
    expect(await stepOutput(run.id, 'backup_before_rebuild')).toMatchObject({ snapshotId: taken.resticSnapshotId });
    expect(await stepOutput(run.id, 'restore_mail')).toMatchObject({ restored: true, snapshotId: taken.resticSnapshotId, simulated: true });
    expect(await stepOutput(run.id, 'restore_tls')).toMatchObject({ restored: true });
    expect(await stepOutput(run.id, 'restore_mailboxes')).toMatchObject({ mailboxes: 1 });
    // The lost instance's disk went too; only the new instance's volume is left.
    const volumes = h.sandbox.scaleway!.listVolumes().filter((v) => v.tags.includes(serverTag(serverId)));
    expect(volumes.length).toBeGreaterThan(0);
    expect(volumes.filter((v) => v.serverId !== after.providerServerId)).toEqual([]);
    const [audit] = await h.database.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.action, 'server.rebuild'), eq(auditLog.target, serverId)));
    expect(audit?.details).toMatchObject({ reason: 'the server was lost', retiredInstance: before.providerServerId });
  }, 240_000);

  it('backs a living server up once more before retiring its instance', async () => {
    const { token, workspaceId } = await h.customer('rebuild-live@example.org');
    const { serverId } = await h.readyServer(token, workspaceId, 'rebuild-live.example');
    const before = await row(serverId);
    const staff = await h.staff('support-rebuild@mailplane.test');
    const started = await h.call('POST', `/v1/admin/servers/${serverId}/rebuild`, { token: staff, body: { reason: 'move to a healthy host' } });
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    const after = await h.waitForServer(serverId, ['ready', 'failed'], 120_000);
    expect(after.status, after.statusReason ?? '').toBe('ready');
    const [last] = await h.database.db
      .select()
      .from(backupRuns)
      .where(and(eq(backupRuns.serverId, serverId), eq(backupRuns.reason, 'before:rebuild')));
    expect(last?.status).toBe('succeeded');
    expect(await stepOutput((await latestRun(serverId)).id, 'restore_mail')).toMatchObject({ snapshotId: last!.resticSnapshotId });
    // The old instance is gone, not left running beside the new one.
    expect((await scaleway(`/servers/${before.providerServerId}`)).status).toBe(404);
    expect(after.providerServerId).not.toBe(before.providerServerId);
  }, 240_000);

  it('refuses a server whose first provisioning failed: it never served mail and has no backup', async () => {
    const { token, workspaceId } = await h.customer('rebuild-never@example.org');
    // The instance is created, then the mail stack never installs: the run fails with a host behind it.
    h.sandbox.ssh!.setDefaultBehaviour({ failScript: 'install-mail-stack.sh' });
    let serverId: string;
    try {
      ({ serverId } = await h.subscribe(token, workspaceId, 'rebuild-never.example'));
      const failed = await h.waitForServer(serverId, ['ready', 'failed'], 120_000);
      expect(failed.status).toBe('failed');
      expect(failed.ipv4).toBeTruthy();
      expect(failed.sshHostKeyFingerprint).toBeTruthy();
    } finally {
      h.sandbox.ssh!.setDefaultBehaviour({});
    }
    const before = await row(serverId);
    const runsBefore = await h.database.db.select().from(provisioningRuns).where(eq(provisioningRuns.serverId, serverId));
    const staff = await h.staff('support-rebuild-never@mailplane.test');
    for (const [path, caller] of [
      [`/v1/workspaces/${workspaceId}/servers/${serverId}/rebuild`, token],
      [`/v1/admin/servers/${serverId}/rebuild`, staff],
    ] as const) {
      const refused = await h.call('POST', path, { token: caller, body: { reason: 'the first install failed' } });
      expect(refused.status).toBe(409);
      expect(refused.headers.get('content-type')).toContain('application/problem+json');
      expect(refused.body.detail).toMatch(/never became ready/);
    }
    // Nothing changed: the same status, no new run, the instance still there for a resume.
    const after = await row(serverId);
    expect(after.status).toBe('failed');
    expect(after.providerServerId).toBe(before.providerServerId);
    expect(await h.database.db.select().from(provisioningRuns).where(eq(provisioningRuns.serverId, serverId))).toHaveLength(runsBefore.length);
  }, 180_000);

  it('refuses a server that never had an instance, and one being removed', async () => {
    const { token, workspaceId } = await h.customer('rebuild-none@example.org');
    const { serverId } = await h.readyServer(token, workspaceId, 'rebuild-none.example');
    await h.database.db.update(servers).set({ status: 'deprovisioning' }).where(eq(servers.id, serverId));
    // Who may ask, before anything is looked at: owners and admins (409 here), never a key, a member or a stranger.
    const path = `/v1/workspaces/${workspaceId}/servers/${serverId}/rebuild`;
    const key = async (scopes: string[]) =>
      (await h.call('POST', `/v1/workspaces/${workspaceId}/api-keys`, { token, body: { name: scopes.join('+'), scopes } })).body.key as string;
    for (const [caller, expected] of [
      [await key(['read', 'write']), 403],
      [await memberOf(workspaceId), 403],
      [(await h.customer('rebuild-stranger@example.org')).token, 404],
    ] as const) {
      expect((await h.call('POST', path, { token: caller, body: { reason: 'not mine to ask' } })).status).toBe(expected);
    }
    expect((await h.call('POST', `/v1/admin/servers/${serverId}/rebuild`, { token, body: { reason: 'not staff' } })).status).toBe(403);
    const refused = await h.call('POST', path, { token, body: { reason: 'should not happen' } });
    expect(refused.status).toBe(409);
    expect(refused.headers.get('content-type')).toContain('application/problem+json');
    const bad = await h.call('POST', `/v1/workspaces/${workspaceId}/servers/${serverId}/rebuild`, { token, body: { reason: 'x', extra: 1 } });
    expect(bad.status).toBe(400);
  });
});

async function memberOf(workspaceId: string): Promise<string> {
  const { token } = await h.customer(`member-${workspaceId.slice(0, 8)}@example.org`);
  const me = await h.call('GET', '/v1/me', { token });
  await h.database.sql`insert into memberships (workspace_id, user_id, role) values (${workspaceId}, ${me.body.user.id}, 'member')`;
  return token;
}
