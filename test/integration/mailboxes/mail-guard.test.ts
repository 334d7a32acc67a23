/**
 * App passwords, the main password for mail clients, the domain's junk score and the usage
 * collection, through the API on a provisioned sandbox server: the server receives exactly
 * the files the rendered Dovecot and Rspamd configuration read (hashes only), revoking takes
 * a password off the server, members manage only the mailboxes assigned to them, API keys
 * never handle credentials, and bad input changes nothing.
 */
import { verify } from '@node-rs/argon2';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog, mailboxAppPasswords, mailboxes, servers } from '../../../src/db/schema/index.ts';
import { collectMailboxUsage } from '../../../src/mailboxes/usage.ts';
import { startHarness, type Harness } from '../../support/provisioning.ts';
import { manualClock } from '../../support/clock.ts';
import { createAppPassword, revokeAppPassword } from '../../../src/mailboxes/app-passwords.ts';
import { resetMailboxPassword } from '../../../src/mailboxes/service.ts';
import { setJunkScore } from '../../../src/mailboxes/spam-settings.ts';
import type { WorkspaceAccess } from '../../../src/workspaces/access.ts';

let h: Harness;
let owner: { token: string; workspaceId: string };
let memberToken: string;
let memberId: string;
let serverId: string;
let hostId: string;
let base: string;
let bobId: string;

beforeAll(async () => {
  h = await startHarness();
  owner = await h.customer('guard-owner@example.com');
  ({ serverId } = await h.subscribe(owner.token, owner.workspaceId, 'guard.example'));
  const server = await h.waitForServer(serverId, ['ready', 'failed'], 120_000);
  expect(server.status).toBe('ready');
  hostId = server.providerServerId!;
  base = `/v1/workspaces/${owner.workspaceId}/servers/${serverId}`;
  const member = await h.signup('guard-member@example.com', { name: 'Member' });
  memberToken = member.token;
  memberId = member.userId;
  await h.database.sql`insert into memberships (workspace_id, user_id, role) values (${owner.workspaceId}, ${memberId}, 'member')`;
  const bob = await h.call('POST', `${base}/mailboxes`, { token: owner.token, body: { localPart: 'bob' } });
  bobId = bob.body.mailbox.id;
  await waitApplied(bobId);
}, 180_000);

afterAll(async () => {
  await h?.close();
});

async function waitApplied(id: string) {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const [row] = await h.database.db.select().from(mailboxes).where(eq(mailboxes.id, id));
    if (row?.syncStatus === 'applied' && row.appliedVersion === row.version) return row;
    if (Date.now() > deadline) throw new Error(`mailbox ${id} is ${row?.syncStatus}: ${row?.syncError}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const serverFile = async (path: string) => (await h.sandbox.ssh!.file(hostId, path))?.content.toString('utf8') ?? null;

describe('app passwords', () => {
  let phoneId: string;
  let phonePassword: string;

  it('creates one scoped to IMAP, shown once; the server gets its hash in the IMAP slot only', async () => {
    const res = await h.call('POST', `${base}/mailboxes/${bobId}/app-passwords`, { token: owner.token, body: { name: 'Phone', scopes: ['imap'] } });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body.appPassword).toMatchObject({ name: 'Phone', scopes: ['imap'], revokedAt: null, lastUsed: null });
    phoneId = res.body.appPassword.id;
    phonePassword = res.body.password;
    expect(phonePassword).toMatch(/^[A-Za-z2-9]{24}$/);
    await waitApplied(bobId);
    const line = (await serverFile('/etc/dovecot/app-passwords/imap.1'))!.trim();
    expect(line).toMatch(new RegExp(`^bob@guard\\.example:\\{ARGON2ID\\}(\\$argon2id\\$[^:]+)::::::mailplane_app=${phoneId}$`));
    expect(await verify(line.split(':')[1]!.replace('{ARGON2ID}', ''), phonePassword)).toBe(true);
    expect(await serverFile('/etc/dovecot/app-passwords/smtp.1')).toBe('');
    // Never again: not in the list, and the database holds the hash only.
    const list = await h.call('GET', `${base}/mailboxes/${bobId}/app-passwords`, { token: owner.token });
    expect(list.body.appPasswords.map((p: { id: string }) => p.id)).toEqual([phoneId]);
    expect(JSON.stringify(list.body)).not.toContain(phonePassword);
    const [row] = await h.database.db.select().from(mailboxAppPasswords).where(eq(mailboxAppPasswords.id, phoneId));
    expect(row!.passwordHash).not.toContain(phonePassword);
    const [entry] = await h.database.db.select().from(auditLog).where(eq(auditLog.action, 'mailbox.app_password_create'));
    expect(JSON.stringify(entry)).not.toContain(phonePassword);
  });

  it('puts one scoped to both services in both slots, and revoking takes it off the server', async () => {
    const res = await h.call('POST', `${base}/mailboxes/${bobId}/app-passwords`, { token: owner.token, body: { name: 'Laptop', scopes: ['smtp', 'imap'] } });
    expect(res.status).toBe(201);
    expect(res.body.appPassword.scopes).toEqual(['imap', 'smtp']);
    await waitApplied(bobId);
    expect(await serverFile('/etc/dovecot/app-passwords/imap.2')).toContain(res.body.appPassword.id);
    expect(await serverFile('/etc/dovecot/app-passwords/smtp.2')).toContain(res.body.appPassword.id);
    const revoked = await h.call('DELETE', `${base}/mailboxes/${bobId}/app-passwords/${res.body.appPassword.id}`, { token: owner.token });
    expect(revoked.status).toBe(200);
    expect(revoked.body.appPassword.revokedAt).not.toBeNull();
    await waitApplied(bobId);
    for (const file of ['imap.1', 'imap.2', 'smtp.1', 'smtp.2'])
      expect(await serverFile(`/etc/dovecot/app-passwords/${file}`)).not.toContain(res.body.appPassword.id);
    expect(await serverFile('/etc/dovecot/app-passwords/imap.1')).toContain(phoneId);
    // A second revocation finds nothing to revoke.
    expect((await h.call('DELETE', `${base}/mailboxes/${bobId}/app-passwords/${res.body.appPassword.id}`, { token: owner.token })).status).toBe(404);
  });

  it('refuses bad input with problem+json and writes nothing', async () => {
    const before = await h.database.db.select().from(mailboxAppPasswords);
    for (const body of [
      { name: 'x', scopes: [] },
      { name: 'x', scopes: ['pop3'] },
      { name: '', scopes: ['imap'] },
      { name: 'a\nb', scopes: ['imap'] },
      { name: 'x', scopes: ['imap'], password: 'mine' },
    ]) {
      const res = await h.call('POST', `${base}/mailboxes/${bobId}/app-passwords`, { token: owner.token, body });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.headers.get('content-type')).toContain('application/problem+json');
    }
    expect((await h.call('PUT', `${base}/mailboxes/${bobId}/main-password-for-clients`, { token: owner.token, body: { enabled: 'no' } })).status).toBe(400);
    expect(await h.database.db.select().from(mailboxAppPasswords)).toEqual(before);
  });

  it('turns the main password off for clients: the server limits it to the loopback (webmail)', async () => {
    const res = await h.call('PUT', `${base}/mailboxes/${bobId}/main-password-for-clients`, { token: owner.token, body: { enabled: false } });
    expect(res.status).toBe(200);
    expect(res.body.mailbox.mainPasswordForClients).toBe(false);
    await waitApplied(bobId);
    expect((await serverFile('/etc/dovecot/users'))!.split('\n').find((l) => l.startsWith('bob@'))).toMatch(/ allow_nets=127\.0\.0\.1\/32,::1\/128$/);
    await h.call('PUT', `${base}/mailboxes/${bobId}/main-password-for-clients`, { token: owner.token, body: { enabled: true } });
    await waitApplied(bobId);
    expect(await serverFile('/etc/dovecot/users')).not.toContain('allow_nets');
  });

  it('lets a member manage the credentials of the mailbox assigned to them only; API keys never', async () => {
    expect((await h.call('GET', `${base}/mailboxes/${bobId}/app-passwords`, { token: memberToken })).status).toBe(403);
    expect((await h.call('PATCH', `${base}/mailboxes/${bobId}`, { token: owner.token, body: { assigneeUserId: memberId } })).status).toBe(200);
    const mine = await h.call('POST', `${base}/mailboxes/${bobId}/app-passwords`, { token: memberToken, body: { name: 'Member phone', scopes: ['smtp'] } });
    expect(mine.status).toBe(201);
    const key = await h.call('POST', `/v1/workspaces/${owner.workspaceId}/api-keys`, { token: owner.token, body: { name: 'ci', scopes: ['write'] } });
    expect((await h.call('GET', `${base}/mailboxes/${bobId}/app-passwords`, { token: key.body.key })).status).toBe(403);
  });

  it('stops at ten app passwords per mailbox', async () => {
    const active = async () =>
      (await h.call('GET', `${base}/mailboxes/${bobId}/app-passwords`, { token: owner.token })).body.appPasswords.filter(
        (p: { revokedAt: string | null }) => !p.revokedAt,
      ).length;
    while ((await active()) < 10)
      expect((await h.call('POST', `${base}/mailboxes/${bobId}/app-passwords`, { token: owner.token, body: { name: 'more', scopes: ['imap'] } })).status).toBe(
        201,
      );
    const refused = await h.call('POST', `${base}/mailboxes/${bobId}/app-passwords`, { token: owner.token, body: { name: 'eleventh', scopes: ['imap'] } });
    expect(refused.status).toBe(409);
    await waitApplied(bobId);
    expect(await serverFile('/etc/dovecot/app-passwords/imap.10')).not.toBe('');
  });
});

describe('junk score and usage', () => {
  it("sets the domain junk score within Rspamd's range and pushes it to the server", async () => {
    expect((await h.call('GET', `${base}/spam-settings`, { token: memberToken })).body).toMatchObject({ junkScore: 6, isDefault: true });
    expect((await h.call('PUT', `${base}/spam-settings`, { token: memberToken, body: { junkScore: 5 } })).status).toBe(403);
    for (const junkScore of [0, 15, 'high'])
      expect((await h.call('PUT', `${base}/spam-settings`, { token: owner.token, body: { junkScore } })).status).toBe(400);
    const res = await h.call('PUT', `${base}/spam-settings`, { token: owner.token, body: { junkScore: 4.5 } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ domain: 'guard.example', junkScore: 4.5, isDefault: false });
    const deadline = Date.now() + 30_000;
    while (!(await serverFile('/etc/rspamd/local.d/settings.conf'))?.includes('add_header = 4.5;') && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    expect(await serverFile('/etc/rspamd/local.d/settings.conf')).toContain('rcpt = "@guard.example";');
  });

  it("collects each mailbox's use from the server (simulated on an emulated host) and shows it", async () => {
    const before = await h.call('GET', `${base}/mailboxes`, { token: owner.token });
    expect(before.body.mailboxes[0].usage).toBeNull();
    expect(await collectMailboxUsage(h.ctx.provisioning, { serverId })).toBe('collected');
    const after = await h.call('GET', `${base}/mailboxes`, { token: owner.token });
    expect(after.body.mailboxes[0].usage).toMatchObject({ usedBytes: 0 });
    expect(h.sandbox.ssh!.commands(hostId).some((c) => c.command.includes('mailbox-usage.sh') && c.exitCode === 0)).toBe(true);
  });

  it('leaves a server whose host does not answer SSH for the next collection instead of failing the job', async () => {
    // A ready server with nothing running at its address (its instance stopped): the sandbox refuses the connection.
    const [down] = await h.database.db
      .insert(servers)
      .values({
        workspaceId: owner.workspaceId,
        planId: 'starter',
        zone: 'fr-par-1',
        domain: 'down-guard.example',
        hostname: 'mail.down-guard.example',
        status: 'ready',
        ipv4: '100.127.254.1',
        sshHostKeyFingerprint: `SHA256:${Buffer.alloc(32, 9).toString('base64').replace(/=+$/, '')}`,
      })
      .returning({ id: servers.id });
    try {
      expect(await collectMailboxUsage(h.ctx.provisioning, { serverId: down!.id })).toBe('unreachable');
    } finally {
      await h.database.db.delete(servers).where(eq(servers.id, down!.id));
    }
  });
});

describe('dashboard', () => {
  const page = (path: string, form?: Record<string, string>) =>
    fetch(`${h.baseUrl}${path}`, {
      method: form ? 'POST' : 'GET',
      redirect: 'manual',
      headers: { cookie: `mailplane_session=${owner.token}`, ...(form ? { 'content-type': 'application/x-www-form-urlencoded', origin: h.baseUrl } : {}) },
      ...(form ? { body: new URLSearchParams(form).toString() } : {}),
    });

  it('creates an app password shown once, revokes it, switches the main password and sets the junk score', async () => {
    const mb = await h.call('POST', `${base}/mailboxes`, { token: owner.token, body: { localPart: 'dash' } });
    const path = `/w/${owner.workspaceId}/servers/${serverId}/mailboxes/${mb.body.mailbox.id}/app-passwords`;
    const created = await page(path, { name: 'Tablet', imap: 'on' });
    expect(created.status).toBe(200);
    const shown = await created.text();
    const password = /<code id="app-password" class="secret">([A-Za-z2-9]{24})<\/code>/.exec(shown)?.[1];
    expect(password).toBeDefined();
    const again = await (await page(path)).text();
    expect(again).toContain('Tablet');
    expect(again).not.toContain(password!);
    const [row] = await h.database.db.select().from(mailboxAppPasswords).where(eq(mailboxAppPasswords.name, 'Tablet'));
    expect(row!.scopes).toEqual(['imap']);
    expect((await page(`${path}/${row!.id}/revoke`, {})).status).toBe(303);
    expect((await h.database.db.select().from(mailboxAppPasswords).where(eq(mailboxAppPasswords.id, row!.id)))[0]!.revokedAt).not.toBeNull();
    expect((await page(path.replace('/app-passwords', '/main-password'), { enabled: 'false' })).status).toBe(303);
    expect((await h.database.db.select().from(mailboxes).where(eq(mailboxes.id, mb.body.mailbox.id)))[0]!.mainPasswordForClients).toBe(false);
    // No scope, no password: refused on the page, nothing written.
    const refused = await page(path, { name: 'Nothing' });
    expect(refused.status).toBe(400);
    expect(await h.database.db.select().from(mailboxAppPasswords).where(eq(mailboxAppPasswords.name, 'Nothing'))).toEqual([]);
    const saved = await page(`/w/${owner.workspaceId}/servers/${serverId}/spam-settings`, { junkScore: '7.5' });
    expect(saved.headers.get('location')).toMatch(/notice=junk_score_saved$/);
    const list = await (await page(`/w/${owner.workspaceId}/servers/${serverId}/mailboxes`)).text();
    expect(list).toContain('value="7.5"');
    expect(list).toContain('main password off for mail clients');
  });
});

describe('the time changes are stamped with', () => {
  it("is the injected clock's, not the wall clock's (the resync sweep compares updated_at with that clock)", async () => {
    // A mailbox of its own: bob's app password slots are full from the tests above.
    const created = await h.call('POST', `${base}/mailboxes`, { token: owner.token, body: { localPart: 'clocky' } });
    const boxId: string = created.body.mailbox.id;
    await waitApplied(boxId);
    const clock = manualClock(Date.parse('2031-05-04T03:02:01.000Z'));
    const deps = { ...h.ctx.mailboxes, clock };
    const me = (await h.call('GET', '/v1/me', { token: owner.token })).body.user;
    const principal = { kind: 'user' as const, userId: me.id, sessionId: 'clock-test', email: me.email, staffRole: null, twoFactor: false };
    const access: WorkspaceAccess = { workspaceId: owner.workspaceId, role: 'owner', principal };
    const actor = { id: me.id, kind: 'user' as const, ip: null };
    const updatedAt = async () => (await h.database.db.select().from(mailboxes).where(eq(mailboxes.id, boxId)))[0]!.updatedAt.getTime();

    const { appPassword } = await createAppPassword(deps, actor, access, serverId, boxId, { name: 'clock', scopes: ['imap'] });
    expect(await updatedAt()).toBe(clock.now());
    clock.advance(60_000);
    const revoked = await revokeAppPassword(deps, actor, access, serverId, boxId, appPassword.id);
    expect([revoked.revokedAt?.getTime(), await updatedAt()]).toEqual([clock.now(), clock.now()]);
    clock.advance(60_000);
    expect((await setJunkScore(deps, actor, access, serverId, 6.5)).updatedAt).toBe(new Date(clock.now()).toISOString());
    clock.advance(60_000);
    await resetMailboxPassword(deps, actor, access, serverId, boxId);
    expect(await updatedAt()).toBe(clock.now());
    await waitApplied(boxId);
  });
});
