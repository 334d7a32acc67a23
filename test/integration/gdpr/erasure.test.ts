/**
 * GDPR on the sandbox: the export holds everything about the caller and no
 * secret; erasing the account erases the workspace it solely owns (Stripe
 * subscription cancelled, server deprovisioned, zone deleted), leaves a
 * workspace someone else owns, and afterwards no row in the database holds the
 * person's email or name and no emulator holds the workspace's resources.
 */
import { eq } from 'drizzle-orm';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memberships, sandboxMail, servers, users, vaultSecrets, workspaces } from '../../../src/db/schema/index.ts';
import { STRONG_PASSWORD } from '../../support/api.ts';
import { startHarness, type Harness } from '../../support/provisioning.ts';
import { manualClock } from '../../support/clock.ts';
import { SYSTEM_ACTOR } from '../../../src/audit.ts';
import { scheduleWorkspaceErasure, startDueErasures } from '../../../src/gdpr/erasure-grace.ts';

const EMAIL = 'zebulon.quuxworth@example.com';
const NAME = 'Zebulon Quuxworth';
let h: Harness;

beforeAll(async () => {
  h = await startHarness();
}, 60_000);
afterAll(async () => {
  await h?.close();
});

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 90_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Every text-like column of every table in the public schema that contains `needle`. */
async function rowsMentioning(needle: string): Promise<string[]> {
  const columns = await h.database.sql<{ table_name: string; column_name: string }[]>`
    select table_name, column_name from information_schema.columns
    where table_schema = 'public' and data_type in ('text', 'jsonb', 'character varying', 'inet', 'ARRAY')`;
  const hits: string[] = [];
  for (const { table_name, column_name } of columns) {
    const found = await h.database.sql.unsafe(`select 1 from "${table_name}" where "${column_name}"::text ilike $1 limit 1`, [`%${needle}%`]);
    if (found.length > 0) hits.push(`${table_name}.${column_name}`);
  }
  return hits;
}

describe('GDPR export and erasure', () => {
  let token: string;
  let userId: string;
  let workspaceId: string;
  let serverId: string;
  let mailboxPassword: string;
  let otherWorkspace: string;

  it('exports everything about the caller as one document, secrets only as their existence', async () => {
    ({ token, userId } = await h.signup(EMAIL, { name: NAME }));
    workspaceId = (await h.call('POST', '/v1/workspaces', { token, body: { name: `${NAME}'s mail` } })).body.id;
    ({ serverId } = await h.readyServer(token, workspaceId, 'quuxworth.example'));
    const mb = await h.call('POST', `/v1/workspaces/${workspaceId}/servers/${serverId}/mailboxes`, { token, body: { localPart: 'zeb' } });
    expect(mb.status).toBe(201);
    mailboxPassword = mb.body.password;
    // Also a member of someone else's workspace, which must survive.
    const other = await h.customer('other-owner@example.com');
    otherWorkspace = other.workspaceId;
    await h.database.sql`insert into memberships (workspace_id, user_id, role) values (${otherWorkspace}, ${userId}, 'admin')`;

    const res = await h.call('GET', '/v1/me/export', { token });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-disposition')).toContain('attachment');
    expect(res.body.account).toMatchObject({ id: userId, email: EMAIL, name: NAME });
    expect(res.body.memberships.map((m: { workspaceId: string }) => m.workspaceId).sort()).toEqual([workspaceId, otherWorkspace].sort());
    const ws = res.body.ownedWorkspaces.find((w: { id: string }) => w.id === workspaceId);
    const server = ws.servers[0];
    expect(server).toMatchObject({ id: serverId, domain: 'quuxworth.example' });
    expect(server.dnsRecords.length).toBeGreaterThan(5);
    expect(server.mailboxes[0]).toMatchObject({ address: 'zeb@quuxworth.example' });
    expect(server.mailboxes[0].secrets[0]).toMatchObject({ purpose: 'mailbox_password' });
    expect(server.secrets.map((s: { purpose: string }) => s.purpose)).toEqual(expect.arrayContaining(['deploy_key', 'ssh_host_key', 'webmail_hmac_key']));
    expect(res.body.auditEntries.some((a: { action: string }) => a.action === 'user.signup')).toBe(true);
    // No secret in any form.
    const text = JSON.stringify(res.body);
    expect(text).not.toContain(mailboxPassword);
    expect(text).not.toContain('$argon2id$');
    expect(text).not.toContain('PRIVATE KEY');
    const [secret] = await h.database.db.select().from(vaultSecrets).where(eq(vaultSecrets.workspaceId, workspaceId)).limit(1);
    expect(text).not.toContain(secret!.ciphertext);
  });

  it('refuses erasure without the right password, changing nothing', async () => {
    expect((await h.call('DELETE', '/v1/me', { token, body: { password: 'not the password at all' } })).status).toBe(403);
    expect((await h.call('DELETE', '/v1/me', { token, body: {} })).status).toBe(400);
    expect((await h.call('GET', '/v1/me', { token })).status).toBe(200);
    const [ws] = await h.database.db.select().from(workspaces).where(eq(workspaces.id, workspaceId));
    expect(ws!.erasureRequestedAt).toBeNull();
  });

  it('erases the account and its sole-owned workspace; nothing about the person remains anywhere', async () => {
    const [server] = await h.database.db.select().from(servers).where(eq(servers.id, serverId));
    expect(h.sandbox.stripe!.customers().some((c) => c.email === EMAIL)).toBe(true);
    const res = await h.call('DELETE', '/v1/me', { token, body: { password: STRONG_PASSWORD } });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ status: 'erasing', workspaces: [workspaceId] });
    // Signed out at once, and the email no longer signs in.
    expect((await h.call('GET', '/v1/me', { token })).status).toBe(401);
    expect((await h.call('POST', '/v1/auth/login', { body: { email: EMAIL, password: STRONG_PASSWORD } })).status).toBe(401);

    await until('the account row to go', async () => (await h.database.db.select().from(users).where(eq(users.id, userId))).length === 0, 120_000);
    expect(await h.database.db.select().from(workspaces).where(eq(workspaces.id, workspaceId))).toHaveLength(0);
    expect(await h.database.db.select().from(servers).where(eq(servers.id, serverId))).toHaveLength(0);
    // The other owner's workspace stays, without the erased member.
    expect(await h.database.db.select().from(workspaces).where(eq(workspaces.id, otherWorkspace))).toHaveLength(1);
    expect(await h.database.db.select().from(memberships).where(eq(memberships.userId, userId))).toHaveLength(0);

    // Told at once by mail (the same goodbye as the dashboard's), kept in the outbox without the address.
    const goodbye = await h.database.db.select().from(sandboxMail).where(eq(sandboxMail.subject, 'Your mailplane account is being erased'));
    expect(goodbye.map((m) => m.to)).toEqual([['[erased]']]);
    expect(goodbye[0]!.text).toContain('with the workspace you owned alone');
    expect(await rowsMentioning(EMAIL)).toEqual([]);
    expect(await rowsMentioning(NAME)).toEqual([]);
    expect(await rowsMentioning('zeb@quuxworth.example')).toEqual([]);
    expect(await h.database.db.select().from(vaultSecrets).where(eq(vaultSecrets.workspaceId, workspaceId))).toHaveLength(0);

    // The providers hold nothing of the workspace: no instance, no IP, no zone, no live subscription.
    expect(h.sandbox.scaleway!.listServers().filter((s) => s.tags.some((t) => t.includes(serverId)))).toEqual([]);
    expect(h.sandbox.scaleway!.listIps().filter((ip) => ip.tags.some((t) => t.includes(serverId)))).toEqual([]);
    expect(h.sandbox.cloudflare!.zones().filter((z) => z.name === 'quuxworth.example')).toEqual([]);
    expect(server!.subscriptionId).not.toBeNull();
    const subs = h.sandbox.stripe!.subscriptions().filter((s) => s.status !== 'canceled');
    expect(subs.filter((s) => JSON.stringify(s).includes(workspaceId))).toEqual([]);
    // Stripe's customer held the email: deleted too.
    expect(h.sandbox.stripe!.customers().filter((c) => c.email === EMAIL)).toEqual([]);
  });

  it('never lowers a /metrics counter by erasing the rows it counted', async () => {
    const owner = await h.customer('metrics-erase-owner@example.com');
    const { serverId: id } = await h.subscribe(owner.token, owner.workspaceId, 'metrics-erase.example');
    await h.waitForServer(id, ['ready', 'failed'], 120_000);
    const counters = async () => {
      const text = await (await fetch(`${h.baseUrl}/metrics`)).text();
      const types = new Map([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1]!, m[2]!]));
      const samples = new Map<string, number>();
      for (const m of text.matchAll(/^(mailplane_[a-z_]+)(\{[^}]*\})? (\S+)$/gm)) {
        const family = m[1]!.replace(/_(bucket|sum|count)$/, '');
        if (types.get(m[1]!) === 'counter' || types.get(family) === 'histogram') samples.set(`${m[1]}${m[2] ?? ''}`, Number(m[3]));
      }
      return samples;
    };
    const before = await counters();
    expect(before.get('mailplane_provisioning_runs_total{kind="provision",status="succeeded"}')).toBeGreaterThan(0);
    expect((await h.call('DELETE', `/v1/workspaces/${owner.workspaceId}`, { token: owner.token, body: { password: STRONG_PASSWORD } })).status).toBe(202);
    expect(await h.afterErasureGrace()).toEqual([owner.workspaceId]);
    await until(
      'the workspace to go',
      async () => (await h.database.db.select().from(workspaces).where(eq(workspaces.id, owner.workspaceId))).length === 0,
      120_000,
    );
    const after = await counters();
    const lowered = [...before].filter(([sample, value]) => (after.get(sample) ?? 0) < value);
    expect(lowered.slice(0, 10)).toEqual([]);
    expect(await rowsMentioning('metrics-erase.example')).toEqual([]);
  });

  it("erases one workspace on its owner's request after a grace period its owners can cancel: admins may not, the owner's account stays", async () => {
    const owner = await h.customer('ws-erase-owner@example.com');
    const admin = await h.signup('ws-erase-admin@example.com', { verified: false, name: 'Admin' });
    await h.database.sql`insert into memberships (workspace_id, user_id, role) values (${owner.workspaceId}, ${admin.userId}, 'admin')`;
    const { serverId: id } = await h.subscribe(owner.token, owner.workspaceId, 'ws-erase.example');
    expect((await h.waitForServer(id, ['ready', 'failed'], 120_000)).status).toBe('ready');
    const [server] = await h.database.db.select().from(servers).where(eq(servers.id, id));
    // The emulated host's disk: the uploaded mail stack, with its DKIM and TLS private keys.
    const hostDir = join(h.env['MAILPLANE_DATA_DIR']!, 'sandbox-hosts', server!.providerServerId!);
    expect((await stat(hostDir)).isDirectory()).toBe(true);
    expect((await readdir(hostDir, { recursive: true })).some((f) => /dkim/i.test(String(f)))).toBe(true);

    const name = 'ws-erase-owner@example.com mail';
    expect((await h.call('DELETE', `/v1/workspaces/${owner.workspaceId}`, { token: admin.token, body: { confirm: name } })).status).toBe(403);
    // Erasure is final: the id alone, a wrong name or a wrong password erase nothing.
    const refusals: Array<[unknown, number]> = [
      [undefined, 400],
      [{}, 400],
      [{ confirm: 'ws-erase-owner' }, 403],
      [{ confirm: name.toUpperCase() }, 403],
      [{ password: 'not-my-password-1' }, 403],
    ];
    for (const [body, status] of refusals) {
      const refused = await h.call('DELETE', `/v1/workspaces/${owner.workspaceId}`, { token: owner.token, ...(body !== undefined ? { body } : {}) });
      expect(refused.status, JSON.stringify(body)).toBe(status);
      expect(refused.headers.get('content-type')).toBe('application/problem+json');
    }
    const [still] = await h.database.sql`select erasure_requested_at from workspaces where id = ${owner.workspaceId}`;
    expect(still!['erasure_requested_at']).toBeNull();
    expect((await h.call('GET', `/v1/workspaces/${owner.workspaceId}/servers`, { token: owner.token })).status).toBe(200);
    const res = await h.call('DELETE', `/v1/workspaces/${owner.workspaceId}`, { token: owner.token, body: { confirm: name } });
    expect(res.status).toBe(202);
    // First a grace period: the server keeps running, nothing new is bought, every owner hears when and how to cancel.
    expect(res.body.status).toBe('scheduled');
    const erasesAt = Date.parse(res.body.erasesAt);
    expect(erasesAt - Date.now()).toBeGreaterThan(23 * 3600_000);
    expect(erasesAt - Date.now()).toBeLessThanOrEqual(24 * 3600_000);
    expect((await h.call('GET', `/v1/workspaces/${owner.workspaceId}`, { token: owner.token })).body.erasureScheduledFor).toBe(res.body.erasesAt);
    expect((await h.database.db.select().from(servers).where(eq(servers.id, id)))[0]!.status).toBe('ready');
    const checkout = await h.call('POST', `/v1/workspaces/${owner.workspaceId}/checkout`, {
      token: owner.token,
      body: { plan: 'starter', region: 'fr-par-1', domain: 'ws-erase-more.example' },
    });
    expect([checkout.status, checkout.body.code]).toEqual([409, 'workspace_erasure_scheduled']);
    const mailed = async (subject: string) =>
      await h.database.sql`select "to" from sandbox_mail where subject = ${subject} and text like ${`%/w/${owner.workspaceId}%`}`;
    expect((await mailed('A workspace you own on mailplane is about to be erased')).map((m) => m['to'])).toEqual([['ws-erase-owner@example.com']]);
    // Asking again keeps the first time; an admin cannot cancel; an owner can, once.
    expect((await h.call('DELETE', `/v1/workspaces/${owner.workspaceId}`, { token: owner.token, body: { confirm: name } })).body.erasesAt).toBe(
      res.body.erasesAt,
    );
    const cancel = (token: string) => h.call('POST', `/v1/workspaces/${owner.workspaceId}/erasure/cancel`, { token });
    expect((await cancel(admin.token)).status).toBe(403);
    expect((await cancel(owner.token)).body).toEqual({ status: 'cancelled' });
    const again = await cancel(owner.token);
    expect([again.status, again.body.code]).toEqual([409, 'erasure_not_scheduled']);
    expect(await mailed('The erasure of a workspace you own on mailplane was cancelled')).toHaveLength(1);
    expect(await h.afterErasureGrace()).toEqual([]);
    expect((await h.call('GET', `/v1/workspaces/${owner.workspaceId}/servers`, { token: owner.token })).status).toBe(200);

    expect((await h.call('DELETE', `/v1/workspaces/${owner.workspaceId}`, { token: owner.token, body: { confirm: name } })).body.status).toBe('scheduled');
    expect(await h.afterErasureGrace()).toEqual([owner.workspaceId]);
    // Gone for everyone at once when the grace period ends, erased for good once the server is deprovisioned.
    expect((await h.call('GET', `/v1/workspaces/${owner.workspaceId}/servers`, { token: owner.token })).status).toBe(404);
    await until(
      'the workspace rows to go',
      async () => (await h.database.db.select().from(workspaces).where(eq(workspaces.id, owner.workspaceId))).length === 0,
      120_000,
    );
    expect(h.sandbox.scaleway!.listServers().filter((s) => s.id === server!.providerServerId)).toEqual([]);
    // Its disk went with the instance: no key or mailbox name of the customer is left under the data dir.
    await until(
      "the emulated host's files to go",
      async () =>
        !(await stat(hostDir).then(
          () => true,
          () => false,
        )),
      10_000,
    );
    expect(h.sandbox.cloudflare!.zones().filter((z) => z.name === 'ws-erase.example')).toEqual([]);
    expect(await rowsMentioning('ws-erase.example')).toEqual([]);
    expect((await h.call('GET', '/v1/me', { token: owner.token })).status).toBe(200);
  }, 180_000);

  it("times a workspace's erasure grace period by the injected clock, not the wall clock", async () => {
    const owner = await h.customer('ws-clock-owner@example.com');
    // Ten days from now: whatever reads the wall clock instead lands ten days early.
    const clock = manualClock(Date.now() + 10 * 24 * 3600_000);
    const deps = { ...h.ctx.erasure, clock };
    const asked = clock.now();
    const { status, erasesAt } = await scheduleWorkspaceErasure(deps, SYSTEM_ACTOR, owner.workspaceId);
    expect([status, erasesAt.getTime()]).toEqual(['scheduled', asked + deps.workspaceGraceMs]);
    clock.set(erasesAt.getTime() - 1);
    expect(await startDueErasures(deps)).toEqual([]);
    clock.set(erasesAt);
    expect(await startDueErasures(deps)).toEqual([owner.workspaceId]);
  });
});
