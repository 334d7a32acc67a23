/**
 * Mailboxes on a provisioned sandbox server: created with a generated password
 * shown once, pushed to the server over SSH (the Dovecot passwd-file holds an
 * argon2id hash of exactly that password), exported only by owners/admins with
 * an audit entry and a rate limit, reset, deleted, and a failing push shows as
 * failed. Bad input changes nothing.
 */
import { createHash, createHmac } from 'node:crypto';
import { verify } from '@node-rs/argon2';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog, mailboxes, servers, vaultSecrets, webmailLogins } from '../../../src/db/schema/index.ts';
import { resyncStaleMailboxes } from '../../../src/mailboxes/sync.ts';
import { startHarness, type Harness } from '../../support/provisioning.ts';

let h: Harness;
let owner: { token: string; workspaceId: string };
let memberToken: string;
let serverId: string;
let hostId: string;
let base: string;

beforeAll(async () => {
  h = await startHarness({ env: { PASSWORD_EXPORTS_PER_HOUR: '3' } });
  owner = await h.customer('mb-owner@example.com');
  const { serverId: id } = await h.subscribe(owner.token, owner.workspaceId, 'mailboxes.example');
  serverId = id;
  const server = await h.waitForServer(serverId, ['ready', 'failed'], 120_000);
  expect(server.status).toBe('ready');
  hostId = server.providerServerId!;
  base = `/v1/workspaces/${owner.workspaceId}/servers/${serverId}/mailboxes`;
  const member = await h.signup('mb-member@example.com', { verified: false, name: 'Member' });
  memberToken = member.token;
  await h.database.sql`insert into memberships (workspace_id, user_id, role) values (${owner.workspaceId}, ${member.userId}, 'member')`;
}, 180_000);

afterAll(async () => {
  await h?.close();
});

async function waitForSync(id: string, status: string) {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const list = await h.call('GET', base, { token: owner.token });
    const mb = list.body.mailboxes.find((m: { id: string }) => m.id === id);
    if (mb?.sync.status === status) return mb;
    if (Date.now() > deadline) throw new Error(`mailbox ${id} sync is ${mb?.sync.status} (wanted ${status}): ${mb?.sync.error}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function usersFile(): Promise<string> {
  return (await h.sandbox.ssh!.file(hostId, '/etc/dovecot/users'))?.content.toString('utf8') ?? '';
}

/** The hash the server holds for an address (Dovecot passwd-file: user:{SCHEME}hash:…). */
async function serverHashOf(address: string): Promise<string | null> {
  const line = (await usersFile()).split('\n').find((l) => l.startsWith(`${address}:`));
  return line ? line.split(':')[1]!.replace(/^\{ARGON2ID\}/, '') : null;
}

describe('mailboxes', () => {
  let aliceId: string;
  let alicePassword: string;

  it('creates a mailbox with a generated password shown once, and the server gets its hash', async () => {
    const res = await h.call('POST', base, { token: owner.token, body: { localPart: 'Alice', displayName: 'Alice A.' } });
    expect(res.status).toBe(201);
    // Starter: 10 mailboxes share 20 GB, each may use up to 10 GB (not 20 GB ÷ 10).
    expect(res.body.mailbox).toMatchObject({
      address: 'alice@mailboxes.example',
      localPart: 'alice',
      displayName: 'Alice A.',
      state: 'active',
      quotaMb: 10 * 1024,
    });
    expect(res.body.password).toMatch(/^[A-Za-z2-9]{24}$/);
    aliceId = res.body.mailbox.id;
    alicePassword = res.body.password;

    const applied = await waitForSync(aliceId, 'applied');
    expect(applied.sync.appliedAt).not.toBeNull();
    const hash = await serverHashOf('alice@mailboxes.example');
    expect(hash).toMatch(/^\$argon2id\$/);
    expect(await verify(hash!, alicePassword)).toBe(true);
    expect(h.sandbox.ssh!.commands(hostId).some((c) => c.command.includes('apply-mailboxes.sh') && c.exitCode === 0)).toBe(true);
    // The password is nowhere in the database in clear; the list never shows it.
    const [row] = await h.database.db.select().from(mailboxes).where(eq(mailboxes.id, aliceId));
    expect(JSON.stringify(row)).not.toContain(alicePassword);
    const list = await h.call('GET', base, { token: memberToken });
    expect(list.status).toBe(200);
    expect(JSON.stringify(list.body)).not.toContain(alicePassword);
  });

  it('refuses bad input with problem+json and writes nothing', async () => {
    const before = (await h.database.db.select().from(mailboxes)).length;
    for (const localPart of ['a..b', '.alice', 'x:y', 'bob smith', 'root', 'é', '', 'a'.repeat(65), 'line\nbreak']) {
      const res = await h.call('POST', base, { token: owner.token, body: { localPart } });
      expect(res.status, localPart).toBe(400);
      expect(res.headers.get('content-type')).toContain('application/problem+json');
    }
    expect((await h.call('POST', base, { token: owner.token, body: { localPart: 'ok', displayName: 'Evil\nBcc: x' } })).status).toBe(400);
    expect((await h.call('POST', base, { token: owner.token, body: { localPart: 'ok', extra: 1 } })).status).toBe(400);
    expect((await h.call('POST', base, { token: owner.token, body: { localPart: 'alice' } })).status).toBe(409);
    expect((await h.database.db.select().from(mailboxes)).length).toBe(before);
  });

  it('counts only real exports against the export limit, not refused requests', async () => {
    const admin = await h.signup('mb-quota-admin@example.com', { verified: false, name: 'Quota Admin' });
    await h.database.sql`insert into memberships (workspace_id, user_id, role) values (${owner.workspaceId}, ${admin.userId}, 'admin')`;
    const token = admin.token;
    const exp = `${base}/${aliceId}/password/export`;
    // Typos: no reason, a reason too short, an unknown field, a mailbox that does not exist.
    for (let i = 0; i < 5; i++) {
      expect((await h.call('POST', exp, { token, body: {} })).status).toBe(400);
      expect((await h.call('POST', exp, { token, body: { reason: 'x' } })).status).toBe(400);
      expect((await h.call('POST', exp, { token, body: { reason: 'phone', extra: 1 } })).status).toBe(400);
      expect((await h.call('POST', `${base}/00000000-0000-4000-8000-000000000000/password/export`, { token, body: { reason: 'phone' } })).status).toBe(404);
    }
    // The limit is 3 per hour in this file: all three real exports pass, the fourth waits.
    for (let i = 0; i < 3; i++) expect((await h.call('POST', exp, { token, body: { reason: 'set up the phone' } })).status).toBe(200);
    expect((await h.call('POST', exp, { token, body: { reason: 'set up the phone' } })).status).toBe(429);
  });

  it('lets members list but not create, export or reset; exports are audited and rate-limited', async () => {
    expect((await h.call('POST', base, { token: memberToken, body: { localPart: 'sneaky' } })).status).toBe(403);
    const exp = `${base}/${aliceId}/password/export`;
    expect((await h.call('POST', exp, { token: memberToken, body: { reason: 'curious' } })).status).toBe(403);
    expect((await h.call('POST', `${base}/${aliceId}/password/reset`, { token: memberToken })).status).toBe(403);

    expect((await h.call('POST', exp, { token: owner.token, body: {} })).status).toBe(400);
    const ok = await h.call('POST', exp, { token: owner.token, body: { reason: 'set up the phone' } });
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({ address: 'alice@mailboxes.example', password: alicePassword });
    const entries = await h.database.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.action, 'mailbox.password_export'), eq(auditLog.target, aliceId)));
    expect(entries.at(-1)?.details).toMatchObject({ reason: 'set up the phone' });
    // The limit is 3 per hour in this file: one used above (the 400 was refused before counting is fine either way).
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await h.call('POST', exp, { token: owner.token, body: { reason: 'again' } })).status);
    expect(statuses).toContain(429);
  });

  it('resets the password: the new one works on the server, the old one no longer does', async () => {
    const res = await h.call('POST', `${base}/${aliceId}/password/reset`, { token: owner.token });
    expect(res.status).toBe(200);
    expect(res.body.password).not.toBe(alicePassword);
    await waitForSync(aliceId, 'applied');
    const hash = await serverHashOf('alice@mailboxes.example');
    expect(await verify(hash!, res.body.password)).toBe(true);
    expect(await verify(hash!, alicePassword)).toBe(false);
  });

  it('shows a failed push as failed, with the reason, and a later change applies', async () => {
    h.sandbox.ssh!.setBehaviour(hostId, { failScript: 'apply-mailboxes.sh' });
    const res = await h.call('POST', base, { token: owner.token, body: { localPart: 'bob' } });
    expect(res.status).toBe(201);
    const failed = await waitForSync(res.body.mailbox.id, 'failed');
    expect(failed.sync.error).toMatch(/apply-mailboxes\.sh/);
    h.sandbox.ssh!.setBehaviour(hostId, {});
    // Nobody touches it again: the periodic sweep queues one more sync and it converges.
    expect(await resyncStaleMailboxes(h.ctx.provisioning, { olderThanMs: 0 })).toEqual([serverId]);
    await waitForSync(res.body.mailbox.id, 'applied');
    expect(await serverHashOf('bob@mailboxes.example')).not.toBeNull();
    expect(await resyncStaleMailboxes(h.ctx.provisioning, { olderThanMs: 0 })).toEqual([]);
  });

  it('opens webmail for owners and admins, and for a member only on the mailbox assigned to them', async () => {
    const [{ id: memberId }] = (await h.database.sql`select id from users where email = 'mb-member@example.com'`) as unknown as [{ id: string }];
    const login = (token: string) => h.call('POST', `${base}/${aliceId}/webmail-login`, { token });
    const refused = await login(memberToken);
    expect(refused.status).toBe(403);
    expect(refused.headers.get('content-type')).toBe('application/problem+json');
    // Only managers assign, and only to members of the workspace.
    expect((await h.call('PATCH', `${base}/${aliceId}`, { token: memberToken, body: { assigneeUserId: memberId } })).status).toBe(403);
    const stranger = await h.customer('mb-stranger@example.com');
    const [{ id: strangerId }] = (await h.database.sql`select id from users where email = 'mb-stranger@example.com'`) as unknown as [{ id: string }];
    expect((await h.call('PATCH', `${base}/${aliceId}`, { token: owner.token, body: { assigneeUserId: strangerId } })).status).toBe(400);
    expect((await login(stranger.token)).status).toBe(404);
    const assigned = await h.call('PATCH', `${base}/${aliceId}`, { token: owner.token, body: { assigneeUserId: memberId } });
    expect(assigned.status).toBe(200);
    expect(assigned.body.mailbox.assigneeUserId).toBe(memberId);
    expect((await login(memberToken)).status).toBe(200);
    expect((await login(owner.token)).status).toBe(200);
    // Unassigned again: the member is out.
    expect((await h.call('PATCH', `${base}/${aliceId}`, { token: owner.token, body: { assigneeUserId: null } })).status).toBe(200);
    expect((await login(memberToken)).status).toBe(403);
    await h.database.sql`delete from webmail_logins where mailbox_id = ${aliceId}`;
  });

  it('issues single-use webmail links signed with the key the server holds', async () => {
    const res = await h.call('POST', `${base}/${aliceId}/webmail-login`, { token: owner.token });
    expect(res.status).toBe(200);
    const url = new URL(res.body.url);
    // An emulated server runs no webmail: the link opens the sandbox's stand-in for it (a real
    // server's is https://webmail.<domain>/autologin, test/e2e/real-hosts).
    expect(url.pathname).toBe(`/sandbox/webmail/${serverId}`);
    const lifetime = Date.parse(res.body.expiresAt) - Date.now();
    expect(lifetime).toBeGreaterThan(0);
    expect(lifetime).toBeLessThanOrEqual(60_000);
    const [payload, mac] = url.searchParams.get('token')!.split('.');
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString('utf8'));
    expect(claims).toMatchObject({ v: 1, mbx: 'alice@mailboxes.example' });
    expect(claims.exp - claims.iat).toBeLessThanOrEqual(60);
    // The server verifies with the key install_mail_stack put there: the same key must have signed.
    const serverKey = (await h.sandbox.ssh!.file(hostId, '/etc/mailplane/webmail/hmac.key'))!.content.toString('utf8').trim();
    expect(createHmac('sha256', Buffer.from(serverKey, 'base64')).update(payload!).digest('base64url')).toBe(mac);
    // Only the nonce's hash is kept; two links never share a nonce.
    const second = await h.call('POST', `${base}/${aliceId}/webmail-login`, { token: owner.token });
    const nonce2 = JSON.parse(Buffer.from(new URL(second.body.url).searchParams.get('token')!.split('.')[0]!, 'base64url').toString()).nonce;
    expect(nonce2).not.toBe(claims.nonce);
    const rows = await h.database.db.select().from(webmailLogins).where(eq(webmailLogins.mailboxId, aliceId));
    expect(rows).toHaveLength(2);
    // The stand-in checks the link as the server's login endpoint does: once, with the server's key.
    const open = async (link: string) => {
      const page = await fetch(`${h.baseUrl}${new URL(link).pathname}${new URL(link).search}`);
      return { status: page.status, text: await page.text() };
    };
    expect(await open(res.body.url)).toEqual({ status: 200, text: expect.stringContaining('Signed in as alice@mailboxes.example') });
    expect(await open(res.body.url)).toEqual({ status: 403, text: expect.stringContaining('already used') });
    const forged = new URL(second.body.url);
    forged.searchParams.set('token', `${forged.searchParams.get('token')!.split('.')[0]}.${'A'.repeat(43)}`);
    expect(await open(forged.toString())).toEqual({ status: 403, text: expect.stringContaining('bad signature') });
    expect(JSON.stringify(rows)).not.toContain(claims.nonce);
    expect(rows.map((r) => r.nonceHash)).toContain(createHash('sha256').update(claims.nonce).digest('hex'));
  });

  it('deletes a mailbox from the server, then from the database with its password', async () => {
    const res = await h.call('DELETE', `${base}/${aliceId}`, { token: owner.token });
    expect(res.status).toBe(202);
    const deadline = Date.now() + 30_000;
    while ((await h.database.db.select().from(mailboxes).where(eq(mailboxes.id, aliceId))).length > 0) {
      if (Date.now() > deadline) throw new Error('mailbox row not removed');
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(await serverHashOf('alice@mailboxes.example')).toBeNull();
    expect(await h.database.db.select().from(vaultSecrets).where(eq(vaultSecrets.ownerId, aliceId))).toHaveLength(0);
    expect((await h.call('DELETE', `${base}/${aliceId}`, { token: owner.token })).status).toBe(404);
  });

  it('lets API keys act within their scope, but never export a password or open webmail', async () => {
    const key = async (scopes: string[]) =>
      (await h.call('POST', `/v1/workspaces/${owner.workspaceId}/api-keys`, { token: owner.token, body: { name: scopes.join('+'), scopes } })).body
        .key as string;
    const read = await key(['read']);
    const write = await key(['write']);
    expect((await h.call('GET', base, { token: read })).status).toBe(200);
    expect((await h.call('POST', base, { token: read, body: { localPart: 'by-read-key' } })).status).toBe(403);
    const created = await h.call('POST', base, { token: write, body: { localPart: 'by-write-key' } });
    expect(created.status).toBe(201);
    const mb = created.body.mailbox.id;
    expect((await h.call('POST', `${base}/${mb}/password/export`, { token: write, body: { reason: 'automation' } })).status).toBe(403);
    expect((await h.call('POST', `${base}/${mb}/webmail-login`, { token: write })).status).toBe(403);
  });

  it('refuses changes while the server is not ready', async () => {
    await h.database.db.update(servers).set({ status: 'suspended' }).where(eq(servers.id, serverId));
    try {
      expect((await h.call('POST', base, { token: owner.token, body: { localPart: 'carol' } })).status).toBe(409);
    } finally {
      await h.database.db.update(servers).set({ status: 'ready' }).where(eq(servers.id, serverId));
    }
  });
});
