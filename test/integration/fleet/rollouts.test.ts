/**
 * Stack versions, drift and rollouts on the sandbox's emulated hosts, on the real test database:
 * a hand edit is named by the next drift check (a diff for a config file, never for a key); a
 * rollout goes canary first, halts when a server fails its checks after the apply (that server is
 * put back on its previous version, ops get an alert naming it and the check), and ops resume it,
 * skip the server, or abort it; a server outside its maintenance window waits for it.
 */
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { and, eq, isNull } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alerts, auditLog, serverStacks, servers } from '../../../src/db/schema/index.ts';
import { observeHost } from '../../../src/fleet/observe.ts';
import { sweepReboots } from '../../../src/fleet/reboot.ts';
import { runServerChecks } from '../../../src/health/run-checks.ts';
import { runMailplane } from '../../support/cli.ts';
import { startHarness, type Harness } from '../../support/provisioning.ts';
import { until } from '../../support/until.ts';

let h: Harness;
let templates: string;
let ops: string;
const ids: string[] = [];
const owners: Array<{ token: string; workspaceId: string }> = [];
const row = async (id: string) => (await h.database.db.select().from(servers).where(eq(servers.id, id)))[0]!;
const versionOf = async (id: string) => (await h.database.db.select({ v: serverStacks.version }).from(serverStacks).where(eq(serverStacks.serverId, id)))[0]?.v;
const current = async () => (await h.call('GET', '/v1/admin/fleet/versions', { token: ops })).body.current.version as string;
let edits = 0;
/** A new release of the stack: one more harmless line in main.cf. */
const changeStack = async () => {
  const mainCf = join(templates, 'postfix/main.cf');
  await writeFile(mainCf, `${await readFile(mainCf, 'utf8')}# marker ${++edits}\n`);
};
const rollout = async (id: string) => (await h.call('GET', `/v1/admin/rollouts/${id}`, { token: ops })).body;
const member = (r: { servers: Array<{ serverId: string }> }, serverId: string) => r.servers.find((s) => s.serverId === serverId) as Record<string, unknown>;
const waitFor = (id: string, what: string, ok: (r: any) => boolean) =>
  until(
    what,
    async () => {
      const r = await rollout(id);
      return ok(r) ? r : null;
    },
    60_000,
    50,
  );
const host = async (id: string) => (await row(id)).providerServerId!;

beforeAll(async () => {
  templates = await mkdtemp(join(tmpdir(), 'mailplane-templates-'));
  await cp(new URL('../../../templates/', import.meta.url), templates, { recursive: true });
  // Every server's window always open unless the test gives it its own.
  h = await startHarness({
    env: { MAILSTACK_TEMPLATES_DIR: templates, MAINTENANCE_DEFAULT_WINDOW: '00:00+1440', ROLLOUT_CANARY_PERCENT: '10', ROLLOUT_WAVE_SIZE: '5' },
  });
  ops = await h.staff('ops@fleet.example', 'ops');
  for (const name of ['one', 'two', 'three']) {
    const { token, workspaceId } = await h.customer(`owner@${name}.example`);
    owners.push({ token, workspaceId });
    ids.push((await h.readyServer(token, workspaceId, `${name}-mail.example`)).serverId);
  }
}, 300_000);
afterAll(async () => {
  await h?.close();
  await rm(templates, { recursive: true, force: true });
});

describe('stack versions and drift', () => {
  it('records the version each server got and counts the fleet by it', async () => {
    const v = await current();
    for (const id of ids) expect(await versionOf(id)).toBe(v);
    expect((await h.call('GET', '/v1/admin/fleet/versions', { token: ops })).body.versions).toEqual([
      { version: v, release: expect.any(String), servers: 3, current: true },
    ]);
  });

  it('names a hand-edited file with a diff, a changed key without its content, and nothing once re-applied', async () => {
    const [id] = ids;
    const server = await row(id!);
    expect((await observeHost(h.ctx.provisioning, server)).drifted).toEqual([]);
    await h.sandbox.ssh!.editFile(server.providerServerId!, '/etc/postfix/main.cf', (c) => c.replace(/^smtpd_banner = .*$/m, 'smtpd_banner = hand edit'));
    await h.sandbox.ssh!.editFile(server.providerServerId!, '/etc/mailplane/webmail/hmac.key', () => 'c2VjcmV0LXZhbHVlLWZyb20tYS1oYW5kLWVkaXQ=\n');
    const seen = await observeHost(h.ctx.provisioning, server);
    expect(seen.drifted.map((d) => [d.path, d.secret])).toEqual([
      ['/etc/mailplane/webmail/hmac.key', true],
      ['/etc/postfix/main.cf', false],
    ]);
    expect(seen.drifted[1]!.diff).toMatch(/^\+smtpd_banner = hand edit$/m);
    expect(seen.drifted[0]!.diff).toBeNull();
    const view = await h.call('GET', `/v1/admin/servers/${id}/stack`, { token: ops });
    expect(JSON.stringify(view.body)).not.toContain('c2VjcmV0LXZhbHVlLWZyb20tYS1oYW5kLWVkaXQ');
    expect(view.body.drift.files.map((f: { path: string }) => f.path)).toEqual(['/etc/mailplane/webmail/hmac.key', '/etc/postfix/main.cf']);

    const rerun = await h.call('POST', `/v1/admin/servers/${id}/steps/install_mail_stack/rerun`, { token: ops });
    expect(rerun.status, JSON.stringify(rerun.body)).toBe(202);
    await h.waitForStep(id!, 'install_mail_stack', 'succeeded');
    await h.waitForServer(id!, ['ready']);
    expect((await observeHost(h.ctx.provisioning, server)).drifted).toEqual([]);
  });
});

// Each rollout is a chain of real jobs (advance, four steps per server, rollbacks): minutes of budget, seconds of work.
describe('rollouts', { timeout: 180_000 }, () => {
  it('halts when a server fails its checks, puts it back, alerts ops; resumed, it finishes canary first', async () => {
    const [a, b, c] = ids as [string, string, string];
    const before = await current();
    await changeStack();
    const target = await current();
    expect(target).not.toBe(before);
    // B's services do not answer once after the change; a re-apply cures it.
    h.sandbox.ssh!.setBehaviour(await host(b), { failScript: 'verify-services.sh', failScriptTimes: 1 });
    // C's customer accepts changes only on a day that is not today.
    const today = new Date().getUTCDay();
    const cRow = await row(c);
    const owner = await h.database.sql<
      { email: string }[]
    >`select u.email from users u join memberships m on m.user_id = u.id where m.workspace_id = ${cRow.workspaceId}`;
    expect(owner).toHaveLength(1);
    await h.database.db
      .insert(serverStacks)
      .values({ serverId: c, maintenanceWindow: { days: [(today + 3) % 7], startMinute: 0, durationMinutes: 60 } })
      .onConflictDoUpdate({ target: serverStacks.serverId, set: { maintenanceWindow: { days: [(today + 3) % 7], startMinute: 0, durationMinutes: 60 } } });

    const started = await h.call('POST', '/v1/admin/rollouts', { token: ops, body: { canaryServerId: a } });
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    expect(started.body.servers.map((s: { serverId: string; wave: number }) => [s.serverId, s.wave])).toEqual([
      [a, 0],
      [b, 1],
      [c, 2],
    ]);
    expect((await h.call('POST', '/v1/admin/rollouts', { token: ops, body: {} })).status).toBe(409);

    const halted = await waitFor(started.body.id, 'the halt with B rolled back', (r) => r.status === 'halted' && member(r, b)['status'] === 'rolled_back');
    expect(member(halted, a)).toMatchObject({ status: 'succeeded' });
    expect(member(halted, b)).toMatchObject({ status: 'rolled_back', failedCheck: 'ports', fromVersion: before });
    expect(member(halted, c)).toMatchObject({ status: 'pending' });
    expect([await versionOf(a), await versionOf(b), await versionOf(c)]).toEqual([target, before, before]);
    expect((await row(b)).status).toBe('ready');
    const [alert] = await h.database.db
      .select()
      .from(alerts)
      .where(and(eq(alerts.kind, 'rollout_halted'), isNull(alerts.resolvedAt)));
    expect(alert!.message).toContain((await row(b)).hostname);
    expect(alert!.message).toContain('"ports"');
    // Only a halted rollout is skipped past; this one is, and support may not act on it.
    const support = await h.staff('support@fleet.example', 'support');
    expect((await h.call('POST', `/v1/admin/rollouts/${started.body.id}/resume`, { token: support })).status).toBe(403);

    const resumed = await h.call('POST', `/v1/admin/rollouts/${started.body.id}/resume`, { token: ops });
    expect(resumed.status, JSON.stringify(resumed.body)).toBe(200);
    const waiting = await waitFor(started.body.id, 'C to wait for its window', (r) => member(r, c)['status'] === 'waiting_window');
    expect(member(waiting, b)).toMatchObject({ status: 'succeeded' });
    expect(await versionOf(c)).toBe(before);
    // The customer opens the window: the next sweep (here, one advance) upgrades C.
    await h.database.db.update(serverStacks).set({ maintenanceWindow: null }).where(eq(serverStacks.serverId, c));
    await h.ctx.queue.send('fleet.sweep', {});
    await waitFor(started.body.id, 'the rollout to finish', (r) => r.status === 'succeeded');
    expect([await versionOf(a), await versionOf(b), await versionOf(c)]).toEqual([target, target, target]);
    expect(
      await h.database.db
        .select()
        .from(alerts)
        .where(and(eq(alerts.kind, 'rollout_halted'), isNull(alerts.resolvedAt))),
    ).toHaveLength(0);
    const actions = (await h.database.db.select({ action: auditLog.action }).from(auditLog).where(eq(auditLog.target, started.body.id))).map((r) => r.action);
    expect(actions).toEqual(expect.arrayContaining(['rollout.start', 'rollout.halt', 'rollout.resume', 'rollout.finished']));
  });

  it('skips a failing server when ops say so, and goes on with the rest', async () => {
    const [a, b, c] = ids as [string, string, string];
    await changeStack();
    const target = await current();
    h.sandbox.ssh!.setBehaviour(await host(b), { failScript: 'verify-services.sh', failScriptTimes: 1 });
    const started = await h.call('POST', '/v1/admin/rollouts', { token: ops, body: { canaryServerId: a } });
    expect(started.status).toBe(202);
    await waitFor(started.body.id, 'the halt', (r) => r.status === 'halted' && member(r, b)['status'] === 'rolled_back');
    expect((await h.call('POST', `/v1/admin/rollouts/${started.body.id}/skip`, { token: ops })).status).toBe(200);
    const done = await waitFor(started.body.id, 'the rollout to finish', (r) => r.status === 'succeeded');
    expect(member(done, b)).toMatchObject({ status: 'skipped', error: 'skipped by ops' });
    expect([await versionOf(a), await versionOf(c)]).toEqual([target, target]);
    expect(await versionOf(b)).not.toBe(target);
    expect((await h.call('POST', `/v1/admin/rollouts/${started.body.id}/resume`, { token: ops })).status).toBe(409);
  });

  it('stops at the canary when ops abort: nothing else changes', async () => {
    const [a, b, c] = ids as [string, string, string];
    const versions = [await versionOf(b), await versionOf(c)];
    await changeStack();
    h.sandbox.ssh!.setBehaviour(await host(a), { failScript: 'verify-services.sh', failScriptTimes: 1 });
    const started = await h.call('POST', '/v1/admin/rollouts', { token: ops, body: { canaryServerId: a } });
    await waitFor(started.body.id, 'the canary to fail', (r) => r.status === 'halted' && member(r, a)['status'] === 'rolled_back');
    const aborted = await h.call('POST', `/v1/admin/rollouts/${started.body.id}/abort`, { token: ops });
    expect(aborted.status).toBe(200);
    expect(aborted.body.status).toBe('aborted');
    expect(
      aborted.body.servers
        .filter((s: { status: string }) => s.status === 'skipped')
        .map((s: { serverId: string }) => s.serverId)
        .sort(),
    ).toEqual([b, c].sort());
    expect([await versionOf(b), await versionOf(c)]).toEqual(versions);
    expect((await h.call('POST', `/v1/admin/rollouts/${started.body.id}/abort`, { token: ops })).status).toBe(409);
  });

  it("is driven from the shell too: versions, a rollout started and followed, a server's drift", async () => {
    const cli = (args: string[]) => runMailplane(args, { USER: 'ops-person', ...h.env, LOG_LEVEL: 'warn' });
    await changeStack();
    const target = await current();
    const started = await cli(['rollouts', 'start', '--canary', ids[1]!]);
    expect(started.code, started.stderr).toBe(0);
    const id = /^rollout ([0-9a-f-]{36})/.exec(started.stdout)?.[1];
    expect(id, started.stdout).toBeDefined();
    await waitFor(id!, 'the CLI rollout to finish', (r) => r.status === 'succeeded');
    const [entry] = await h.database.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.action, 'rollout.start'), eq(auditLog.target, id!)));
    expect(entry).toMatchObject({ actorId: 'cli:ops-person', actorKind: 'staff' });
    const versions = await cli(['fleet', 'versions']);
    expect(versions.code, versions.stderr).toBe(0);
    expect(versions.stdout).toContain(`3 server(s) on ${target}`);
    const show = await cli(['rollouts', 'show', id!]);
    expect(show.stdout).toMatch(/succeeded/);
    expect((await cli(['fleet', 'show', ids[0]!])).stdout).toContain(`stack ${target}`);
    expect((await cli(['rollouts', 'frobnicate'])).code).toBe(2);
  });

  it('keeps the later look when two overlap: an answer that arrives last but looked first does not win', async () => {
    const id = ids[0]!;
    const fresh = await observeHost(h.ctx.provisioning, await row(id));
    // A look that started a minute earlier (a drift job under way before an edit) answers now.
    const earlier = { ...h.ctx.provisioning, clock: { ...h.ctx.provisioning.clock, now: () => Date.parse(fresh.checkedAt) - 60_000 } };
    const stale = await observeHost(earlier, await row(id));
    expect(stale.checkedAt < fresh.checkedAt).toBe(true);
    const [st] = await h.database.db.select().from(serverStacks).where(eq(serverStacks.serverId, id));
    expect(st?.observed?.checkedAt).toBe(fresh.checkedAt);
  });
});

describe('updates and reboots', () => {
  it('warns of a pending reboot, reboots in the window, then checks the server again', async () => {
    const id = ids[2]!;
    await h.sandbox.ssh!.putFile(await host(id), '/run/reboot-required', '*** System restart required ***\n');
    const before = await observeHost(h.ctx.provisioning, await row(id));
    expect(before.rebootRequired).toBe(true);
    const warned = (await runServerChecks(h.ctx.health, id)).results.find((r) => r.name === 'updates')!;
    expect(warned).toMatchObject({ status: 'warn' });
    expect(warned.summary).toContain('reboot is required');
    // The window is always open here (MAINTENANCE_DEFAULT_WINDOW): the sweep queues the reboot.
    await h.ctx.queue.send('fleet.sweep', {});
    await until(
      'the reboot',
      async () =>
        (
          await h.database.db
            .select()
            .from(auditLog)
            .where(and(eq(auditLog.action, 'server.reboot'), eq(auditLog.target, id)))
        ).length > 0,
      60_000,
      100,
    );
    const after = await until(
      'the host back with a new boot',
      async () => {
        const [st] = await h.database.db.select().from(serverStacks).where(eq(serverStacks.serverId, id));
        return st?.observed && st.observed.bootId !== before.bootId ? st.observed : null;
      },
      60_000,
      100,
    );
    expect(after.rebootRequired).toBe(false);
    const passed = await until(
      'the updates check to pass',
      async () => {
        const c = (await h.database.sql<{ status: string }[]>`select status from server_checks where server_id = ${id} and name = 'updates'`)[0];
        return c?.status === 'pass' ? c : null;
      },
      60_000,
      100,
    );
    expect(passed.status).toBe('pass');
    // Not twice for one need: the sweep leaves a server it just rebooted alone.
    await h.sandbox.ssh!.putFile(await host(id), '/run/reboot-required', 'again\n');
    await observeHost(h.ctx.provisioning, await row(id));
    expect(await sweepReboots(h.ctx.fleet)).toEqual([]);
  });
});

describe('the dashboard', () => {
  const page = (path: string, token: string, form?: string) =>
    fetch(`${h.baseUrl}${path}`, {
      method: form === undefined ? 'GET' : 'POST',
      redirect: 'manual',
      headers: {
        cookie: `mailplane_session=${token}`,
        ...(form === undefined ? {} : { 'content-type': 'application/x-www-form-urlencoded', origin: h.baseUrl }),
      },
      ...(form === undefined ? {} : { body: form }),
    });

  it("shows ops the versions and rollouts, support a server's stack, and customers their maintenance window", async () => {
    const fleet = await page('/ops/fleet', ops);
    expect(fleet.status).toBe(200);
    expect(await fleet.text()).toContain(await current());
    const support = await h.staff('support-pages@fleet.example', 'support');
    expect((await page('/ops/fleet', support)).status).toBe(403);
    const stack = await page(`/support/servers/${ids[0]}/stack`, support);
    expect(stack.status).toBe(200);
    expect(await stack.text()).toContain('Stack version');

    const [owner] = owners;
    const base = `/w/${owner!.workspaceId}/servers/${ids[0]}/maintenance`;
    expect(await (await page(base, owner!.token)).text()).toContain('Save the window');
    const saved = await page(base, owner!.token, 'day=0&day=6&start=02:30&hours=3');
    expect(saved.status).toBe(303);
    const [row] = await h.database.db.select({ w: serverStacks.maintenanceWindow }).from(serverStacks).where(eq(serverStacks.serverId, ids[0]!));
    expect(row?.w).toEqual({ days: [0, 6], startMinute: 150, durationMinutes: 180 });
    const refused = await page(base, owner!.token, 'start=02:30&hours=3');
    expect(refused.status).toBe(400);
    expect(await refused.text()).toContain('days');
    const api = await h.call('GET', `/v1/workspaces/${owner!.workspaceId}/servers/${ids[0]}/maintenance-window`, { token: owner!.token });
    expect(api.body).toMatchObject({ source: 'server', text: 'Sun, Sat 02:30–05:30 UTC' });
  });
});
