/**
 * DKIM key rotation on the sandbox: the rotation run (a new dated selector published through the
 * Cloudflare emulator, read back through the DNS emulator, installed on the host), the sweep's
 * schedule (rotation due, revoke after the overlap, delete later), the emergency rotation, and who
 * may ask. Time is moved by giving the sweep a clock; everything else runs as in production.
 */
import { and, asc, desc, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog, dkimKeys, dnsRecords, provisioningRuns, servers, vaultSecrets } from '../../../src/db/schema/index.ts';
import { advanceDkimKey, sweepDkim } from '../../../src/servers/dkim-sweep.ts';
import type { ProvisioningDeps } from '../../../provisioning/context.ts';
import { startHarness, type Harness } from '../../support/provisioning.ts';
import { until } from '../../support/until.ts';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

const DAY = 86_400_000;
const keysOf = (serverId: string) => h.database.db.select().from(dkimKeys).where(eq(dkimKeys.serverId, serverId)).orderBy(asc(dkimKeys.createdAt));
const txt = async (name: string) => {
  const r = await h.ctx.providers.lookup.lookup(name, 'TXT');
  return r.status === 'ok' ? r.answers : [];
};
const at = (ms: number): ProvisioningDeps => ({ ...h.ctx.provisioning, clock: { ...h.ctx.clock, now: () => ms } });
const latestRun = async (serverId: string) =>
  (await h.database.db.select().from(provisioningRuns).where(eq(provisioningRuns.serverId, serverId)).orderBy(desc(provisioningRuns.createdAt)).limit(1))[0]!;
const finishedRun = (serverId: string) =>
  until(
    'the run to finish',
    async () => {
      const run = await latestRun(serverId);
      return run.status !== 'running' ? run : null;
    },
    60_000,
  );
const actions = async (serverId: string) =>
  (await h.database.db.select({ action: auditLog.action }).from(auditLog).where(eq(auditLog.target, serverId))).map((a) => a.action);

async function readyServer(email: string, domain: string) {
  const { token, workspaceId } = await h.customer(email);
  const { serverId } = await h.readyServer(token, workspaceId, domain);
  const row = (await h.database.db.select().from(servers).where(eq(servers.id, serverId)))[0]!;
  return { token, workspaceId, serverId, row, base: `/v1/workspaces/${workspaceId}/servers/${serverId}` };
}

describe('DKIM rotation', () => {
  it('provisions RSA and Ed25519 keys, both published, and GET …/dns lists them with the PTR records', async () => {
    const s = await readyServer('dkim-first@example.org', 'dkim-first.example');
    const [key] = await keysOf(s.serverId);
    expect(key).toMatchObject({ state: 'active', ed25519Selector: `${key!.selector}e` });
    expect(key!.selector).toMatch(/^mp\d{8}$/);
    // Due for rotation DKIM_ROTATION_DAYS (90) after it began signing.
    expect(key!.nextTransitionAt!.getTime() - key!.activatedAt!.getTime()).toBe(90 * DAY);
    expect(await txt(`${key!.selector}._domainkey.dkim-first.example`)).toEqual([`v=DKIM1; k=rsa; p=${key!.publicKey}`]);
    expect(await txt(`${key!.ed25519Selector}._domainkey.dkim-first.example`)).toEqual([`v=DKIM1; k=ed25519; p=${key!.ed25519PublicKey}`]);
    expect(Buffer.from(key!.ed25519PublicKey!, 'base64')).toHaveLength(32);
    // Rspamd's configuration names both selectors, each with its key on the host.
    const conf = (await h.sandbox.ssh!.file(s.row.providerServerId!, '/etc/rspamd/local.d/dkim_signing.conf'))!.content.toString('utf8');
    expect(conf).toContain(`selector = "${key!.selector}"`);
    expect(conf).toContain(`selector = "${key!.ed25519Selector}"`);

    const dns = await h.call('GET', `${s.base}/dns`, { token: s.token });
    expect(dns.status).toBe(200);
    expect(dns.body.ptr.map((p: { family: string; address: string; expected: string; status: string }) => [p.family, p.address, p.expected, p.status])).toEqual(
      [
        ['ipv4', s.row.ipv4, s.row.hostname, 'pass'],
        ['ipv6', s.row.ipv6, s.row.hostname, 'pass'],
      ],
    );
    expect(dns.body.dkimKeys).toEqual([
      expect.objectContaining({ selector: key!.selector, state: 'active', next: { transition: 'rotate', at: key!.nextTransitionAt!.toISOString() } }),
    ]);
    expect(dns.body.records.map((r: { purpose: string }) => r.purpose)).toEqual(expect.arrayContaining(['dkim', 'dkim_ed25519']));
  });

  it('rotates now: a new selector published, read back, signing; the old one retiring, then revoked and deleted on schedule', async () => {
    const s = await readyServer('dkim-rotate@example.org', 'dkim-rotate.example');
    const [old] = await keysOf(s.serverId);
    const started = await h.call('POST', `${s.base}/dkim/rotate`, { token: s.token, body: { reason: 'routine rotation' } });
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    // One rotation at a time.
    expect((await h.call('POST', `${s.base}/dkim/rotate`, { token: s.token, body: { reason: 'again' } })).status).toBe(409);
    const run = await finishedRun(s.serverId);
    expect(run, run.error ?? '').toMatchObject({ kind: 'rotate_dkim', status: 'succeeded' });
    expect((await h.database.db.select().from(servers).where(eq(servers.id, s.serverId)))[0]!.status).toBe('ready');

    const [previous, next] = await keysOf(s.serverId);
    expect(previous).toMatchObject({ id: old!.id, state: 'retiring' });
    expect(next!.state).toBe('active');
    // Dated, never reused: a second generation the same day gets a letter.
    expect(next!.selector).not.toBe(old!.selector);
    expect(next!.selector).toMatch(/^mp\d{8}[b-z]?$/);
    expect(next!.confirmedAt).not.toBeNull();
    expect(previous!.nextTransitionAt!.getTime() - previous!.retiredAt!.getTime()).toBe(7 * DAY);
    // Both generations answer: the old one for mail in flight, the new one signing.
    expect(await txt(`${old!.selector}._domainkey.dkim-rotate.example`)).toEqual([`v=DKIM1; k=rsa; p=${old!.publicKey}`]);
    expect(await txt(`${next!.selector}._domainkey.dkim-rotate.example`)).toEqual([`v=DKIM1; k=rsa; p=${next!.publicKey}`]);
    expect(await txt(`${next!.ed25519Selector}._domainkey.dkim-rotate.example`)).toEqual([`v=DKIM1; k=ed25519; p=${next!.ed25519PublicKey}`]);
    // The host signs with the new keys only; the old key files are gone from it.
    const host = s.row.providerServerId!;
    const conf = (await h.sandbox.ssh!.file(host, '/etc/rspamd/local.d/dkim_signing.conf'))!.content.toString('utf8');
    expect(conf).toContain(`selector = "${next!.selector}"`);
    expect(conf).not.toContain(`selector = "${old!.selector}"`);
    expect(await h.sandbox.ssh!.file(host, `/var/lib/rspamd/dkim/dkim-rotate.example.${old!.selector}.key`)).toBeNull();
    expect(await h.sandbox.ssh!.file(host, `/var/lib/rspamd/dkim/dkim-rotate.example.${next!.selector}.key`)).not.toBeNull();
    // The records mailplane keeps for the purpose name the signing key.
    const [dkimRow] = await h.database.db
      .select()
      .from(dnsRecords)
      .where(and(eq(dnsRecords.serverId, s.serverId), eq(dnsRecords.purpose, 'dkim')));
    expect(dkimRow!.name).toBe(`${next!.selector}._domainkey.dkim-rotate.example`);
    expect(await actions(s.serverId)).toEqual(expect.arrayContaining(['dkim.rotation', 'dkim.published', 'dkim.confirmed', 'dkim.activated']));

    // Before the overlap is over, the sweep leaves it alone.
    expect((await sweepDkim(at(previous!.nextTransitionAt!.getTime() - 60_000))).transitions).not.toContain(old!.id);
    expect(await advanceDkimKey(at(previous!.nextTransitionAt!.getTime() - 60_000), { keyId: old!.id })).toBeNull();
    // After it: revoked. The records answer an empty key; the private keys leave the vault.
    const revokeAt = previous!.nextTransitionAt!.getTime() + 60_000;
    expect((await sweepDkim(at(revokeAt))).transitions).toContain(old!.id);
    expect(await advanceDkimKey(at(revokeAt), { keyId: old!.id })).toBe('revoked');
    expect(await advanceDkimKey(at(revokeAt), { keyId: old!.id })).toBeNull();
    expect(await txt(`${old!.selector}._domainkey.dkim-rotate.example`)).toEqual(['v=DKIM1; k=rsa; p=']);
    expect(await txt(`${old!.ed25519Selector}._domainkey.dkim-rotate.example`)).toEqual(['v=DKIM1; k=ed25519; p=']);
    expect(await h.database.db.select().from(vaultSecrets).where(eq(vaultSecrets.ownerId, old!.id))).toEqual([]);
    const [revoked] = await h.database.db.select().from(dkimKeys).where(eq(dkimKeys.id, old!.id));
    expect(revoked).toMatchObject({ state: 'revoked' });
    // Deleted 30 days after the rotation.
    expect(revoked!.nextTransitionAt!.getTime() - revoked!.retiredAt!.getTime()).toBe(30 * DAY);
    expect(await advanceDkimKey(at(revoked!.nextTransitionAt!.getTime() + 60_000), { keyId: old!.id })).toBe('deleted');
    expect(await txt(`${old!.selector}._domainkey.dkim-rotate.example`)).toEqual([]);
    expect(await txt(`${next!.selector}._domainkey.dkim-rotate.example`)).toHaveLength(1);
    expect(await actions(s.serverId)).toEqual(expect.arrayContaining(['dkim.revoked', 'dkim.deleted']));

    const dns = await h.call('GET', `${s.base}/dns`, { token: s.token });
    expect(dns.body.dkimKeys.map((k: { selector: string; state: string }) => [k.selector, k.state])).toEqual([
      [old!.selector, 'deleted'],
      [next!.selector, 'active'],
    ]);
  });

  it('starts the scheduled rotation when it is due, and not before', async () => {
    const s = await readyServer('dkim-due@example.org', 'dkim-due.example');
    const [key] = await keysOf(s.serverId);
    expect((await sweepDkim(at(key!.nextTransitionAt!.getTime() - 60_000))).rotations).not.toContain(s.serverId);
    expect((await latestRun(s.serverId)).kind).toBe('provision');
    expect((await sweepDkim(at(key!.nextTransitionAt!.getTime() + 60_000))).rotations).toContain(s.serverId);
    const run = await finishedRun(s.serverId);
    expect(run).toMatchObject({ kind: 'rotate_dkim', status: 'succeeded', params: { reason: 'scheduled rotation', emergency: false } });
    // A key made before rotation was scheduled has no date: its age decides.
    const legacy = await readyServer('dkim-legacy@example.org', 'dkim-legacy.example');
    const made = Date.now();
    await h.database.db.update(dkimKeys).set({ nextTransitionAt: null, activatedAt: null }).where(eq(dkimKeys.serverId, legacy.serverId));
    expect((await sweepDkim(at(made + 89 * DAY))).rotations).not.toContain(legacy.serverId);
    expect((await sweepDkim(at(made + 91 * DAY))).rotations).toContain(legacy.serverId);
    expect((await finishedRun(legacy.serverId)).status).toBe('succeeded');
  });

  it('an emergency rotation revokes the leaked key at once', async () => {
    const s = await readyServer('dkim-leak@example.org', 'dkim-leak.example');
    const [old] = await keysOf(s.serverId);
    const started = await h.call('POST', `${s.base}/dkim/rotate`, { token: s.token, body: { reason: 'the key leaked', emergency: true } });
    expect(started.status).toBe(202);
    expect((await finishedRun(s.serverId)).status).toBe('succeeded');
    const [leaked, next] = await keysOf(s.serverId);
    expect(leaked).toMatchObject({ state: 'revoked' });
    expect(next!.state).toBe('active');
    expect(await txt(`${old!.selector}._domainkey.dkim-leak.example`)).toEqual(['v=DKIM1; k=rsa; p=']);
    expect(await h.database.db.select().from(vaultSecrets).where(eq(vaultSecrets.ownerId, old!.id))).toEqual([]);
    expect(leaked!.nextTransitionAt!.getTime() - leaked!.retiredAt!.getTime()).toBe(30 * DAY);
    expect(await actions(s.serverId)).toEqual(expect.arrayContaining(['dkim.emergency_rotation', 'dkim.revoked', 'dkim.activated']));
  });

  it('shows the keys on the DNS page and rotates from it for owners and admins, not members', async () => {
    const s = await readyServer('dkim-web@example.org', 'dkim-web.example');
    const member = await h.customer('dkim-web-member@example.org');
    const me = await h.call('GET', '/v1/me', { token: member.token });
    await h.database.sql`insert into memberships (workspace_id, user_id, role) values (${s.workspaceId}, ${me.body.user.id}, 'member')`;
    const origin = new URL(h.ctx.config.http.publicUrl).origin;
    const page = (token: string, form?: Record<string, string>) =>
      fetch(`${h.baseUrl}/w/${s.workspaceId}/servers/${s.serverId}/${form ? 'dkim/rotate' : 'dns'}`, {
        method: form ? 'POST' : 'GET',
        redirect: 'manual',
        headers: { cookie: `mailplane_session=${token}`, ...(form ? { 'content-type': 'application/x-www-form-urlencoded', origin } : {}) },
        ...(form ? { body: new URLSearchParams(form).toString() } : {}),
      });
    const [key] = await keysOf(s.serverId);
    const html = await (await page(s.token)).text();
    expect(html).toContain(key!.ed25519Selector!);
    expect(html).toContain('Rotate DKIM keys now');
    expect(await (await page(member.token)).text()).not.toContain('Rotate DKIM keys now');
    expect((await page(member.token, { reason: 'member tries' })).status).toBe(403);
    expect((await latestRun(s.serverId)).kind).toBe('provision');
    const posted = await page(s.token, { reason: 'from the dashboard', emergency: '1' });
    expect(posted.status).toBe(303);
    expect(await finishedRun(s.serverId)).toMatchObject({ kind: 'rotate_dkim', status: 'succeeded', params: { emergency: true } });
  });

  it('lets owners, admins, write keys, support and ops rotate; not members, read keys or strangers; refuses bad input', async () => {
    const s = await readyServer('dkim-perm@example.org', 'dkim-perm.example');
    const path = `${s.base}/dkim/rotate`;
    const key = async (scopes: string[]) =>
      (await h.call('POST', `/v1/workspaces/${s.workspaceId}/api-keys`, { token: s.token, body: { name: scopes.join('+'), scopes } })).body.key as string;
    const member = await h.customer('dkim-member@example.org');
    const me = await h.call('GET', '/v1/me', { token: member.token });
    await h.database.sql`insert into memberships (workspace_id, user_id, role) values (${s.workspaceId}, ${me.body.user.id}, 'member')`;
    for (const [caller, expected] of [
      [await key(['read']), 403],
      [member.token, 403],
      [(await h.customer('dkim-stranger@example.org')).token, 404],
    ] as const) {
      expect((await h.call('POST', path, { token: caller, body: { reason: 'not mine to ask' } })).status).toBe(expected);
    }
    expect((await h.call('POST', `/v1/admin/servers/${s.serverId}/dkim/rotate`, { token: s.token, body: { reason: 'not staff' } })).status).toBe(403);
    for (const body of [{ reason: 'x' }, { reason: 'fine', emergency: 'yes' }, { reason: 'fine', extra: 1 }, {}]) {
      const bad = await h.call('POST', path, { token: s.token, body });
      expect(bad.status, JSON.stringify(body)).toBe(400);
      expect(bad.headers.get('content-type')).toContain('application/problem+json');
    }
    expect((await latestRun(s.serverId)).kind).toBe('provision');

    const rotateAs = async (token: string, url = path) => {
      const res = await h.call('POST', url, { token, body: { reason: 'rotation by a permitted caller' } });
      expect(res.status, JSON.stringify(res.body)).toBe(202);
      expect((await finishedRun(s.serverId)).status).toBe('succeeded');
    };
    await rotateAs(await key(['write']));
    await rotateAs(await h.staff('dkim-support@example.org', 'support'), `/v1/admin/servers/${s.serverId}/dkim/rotate`);
    await rotateAs(await h.staff('dkim-ops@example.org', 'ops'), `/v1/admin/servers/${s.serverId}/dkim/rotate`);
    const selectors = (await keysOf(s.serverId)).map((k) => k.selector);
    expect(new Set(selectors).size).toBe(4);

    // Not on a server that is not ready.
    await h.database.db.update(servers).set({ status: 'suspended' }).where(eq(servers.id, s.serverId));
    const refused = await h.call('POST', path, { token: s.token, body: { reason: 'while suspended' } });
    expect(refused.status).toBe(409);
    expect(refused.headers.get('content-type')).toContain('application/problem+json');
  });
});
