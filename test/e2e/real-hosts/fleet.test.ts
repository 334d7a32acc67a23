/**
 * Day two on two real Debian 12 servers (issue 22, proofs 1, 2 and 4), provisioned in parallel.
 * Drift: a managed file edited by hand is named by the next drift check, with a diff for support,
 * and re-applying the stack clears it. Rollout: the product renders a changed stack (a marker in
 * main.cf, through MAILSTACK_TEMPLATES_DIR, the documented override) and ops roll it out; the
 * second server's post-apply hook stops Dovecot, so its checks fail: the rollout halts, that server
 * is back on its previous version with every service running, the canary is on the new one, and
 * an ops alert names the server and the check. Updates: a pending reboot is a health warning; the
 * reboot happens in the maintenance window, and afterwards every service runs and the warning is gone.
 */
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withSession } from '../../../provisioning/remote.ts';
import { auditLog, serverChecks, servers, serverStacks } from '../../../src/db/schema/index.ts';
import { MAIL_STACK_SERVICES } from '../../../src/mailstack/packages.ts';
import { SshUnreachableError } from '../../../src/providers/ssh/interface.ts';
import type { Harness } from '../../support/provisioning.ts';
import { until } from '../../support/until.ts';
import { missingForRealHosts, startRealHostProduct } from './support/product.ts';

const missing = missingForRealHosts();
if (missing.length > 0 && process.env['MAILPLANE_REQUIRE_TOOLS'] === '1') throw new Error(`real-host e2e needs: ${missing.join(', ')}`);

interface Site {
  domain: string;
  token: string;
  workspaceId: string;
  serverId: string;
  hostname: string;
}

describe.skipIf(missing.length > 0)('the fleet on real hosts: drift, rollouts with rollback, reboots in the window', () => {
  let h: Harness;
  let templates: string;
  let ops: string;
  const sites: Record<'a' | 'b', Site> = {} as never;
  const MARKER = '# fleet e2e marker: a harmless change to the rendered stack';

  /**
   * Runs a script on a host as the product does, and like the product (which retries a step that
   * could not reach its host) tries again when the SSH handshake times out: in the full run of
   * 2026-12-07 one handshake right after a re-apply timed out while every session before and after
   * it connected. What the test judges is the host's answer, not one connection.
   */
  const onHost = async (site: Site, script: string) => {
    for (let attempt = 1; ; attempt++) {
      const [server] = await h.database.db.select().from(servers).where(eq(servers.id, site.serverId));
      try {
        return await withSession(h.ctx.provisioning, server!, (s) => s.exec('bash -s', { stdin: script, check: false, timeoutMs: 60_000 }));
      } catch (err) {
        if (!(err instanceof SshUnreachableError) || attempt >= 3) throw err;
      }
    }
  };
  const stack = async (site: Site) => {
    const res = await h.call('GET', `/v1/admin/servers/${site.serverId}/stack`, { token: ops });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body;
  };
  /**
   * A drift check now, as support asks for one; resolves with the server's stack once a check that
   * looked at the host after this request has been stored (not one already under way, which may
   * have read the host before a change the test just made).
   */
  const driftCheck = async (site: Site) => {
    const requested = new Date().toISOString();
    expect((await h.call('POST', `/v1/admin/servers/${site.serverId}/drift-check`, { token: ops })).status).toBe(202);
    return until(
      `a drift check of ${site.domain}`,
      async () => {
        const s = await stack(site);
        return s.drift && s.drift.checkedAt >= requested ? s : null;
      },
      180_000,
      500,
    );
  };
  const check = async (site: Site, name: string) =>
    (
      await h.database.db
        .select()
        .from(serverChecks)
        .where(and(eq(serverChecks.serverId, site.serverId), eq(serverChecks.name, name)))
    )[0];

  beforeAll(async () => {
    // The documented override: the product renders its stack from this copy of templates/.
    templates = await mkdtemp(join(tmpdir(), 'mailplane-templates-'));
    await cp(new URL('../../../templates/', import.meta.url), templates, { recursive: true });
    h = await startRealHostProduct({ MAILSTACK_TEMPLATES_DIR: templates });
    ops = await h.staff('ops@fleet-e2e.test', 'ops');
    const order = [
      ['a', 'fleet-a.test'],
      ['b', 'fleet-b.test'],
    ] as const;
    await Promise.all(
      order.map(async ([key, domain]) => {
        const { token, workspaceId } = await h.customer(`owner@${domain}`);
        const { serverId } = await h.subscribe(token, workspaceId, domain);
        const row = await h.waitForServer(serverId, ['ready'], 25 * 60_000);
        sites[key] = { domain, token, workspaceId, serverId, hostname: row.hostname };
      }),
    );
  });

  afterAll(async () => {
    await h?.close();
    if (templates) await rm(templates, { recursive: true, force: true });
  });

  it('records the stack version each server was given, and counts the fleet by version', async () => {
    const versions = await h.call('GET', '/v1/admin/fleet/versions', { token: ops });
    expect(versions.status).toBe(200);
    expect(versions.body.versions).toEqual([{ version: versions.body.current.version, release: versions.body.current.release, servers: 2, current: true }]);
    for (const site of Object.values(sites)) {
      const s = await driftCheck(site);
      expect(s).toMatchObject({ version: versions.body.current.version, current: { upToDate: true } });
      // Fresh from provisioning: every managed file as applied, every service running.
      expect(s.drift.files, JSON.stringify(s.drift.files)).toEqual([]);
      expect(s.drift.servicesDown).toEqual([]);
    }
  });

  it('names a managed file edited by hand at the next drift check, with a diff for support; re-applying clears it', async () => {
    const a = sites.a;
    expect(
      (
        await onHost(
          a,
          "sed -i 's/^smtpd_banner = .*/smtpd_banner = $myhostname ESMTP edited-by-hand/' /etc/postfix/main.cf && grep -c edited-by-hand /etc/postfix/main.cf",
        )
      ).stdout.trim(),
    ).toBe('1');
    const seen = await driftCheck(a);
    expect(seen.drift.files).toEqual([expect.objectContaining({ path: '/etc/postfix/main.cf', secret: false, missing: false })]);
    expect(seen.drift.files[0].diff).toMatch(/^\+smtpd_banner = \$myhostname ESMTP edited-by-hand$/m);
    expect(seen.drift.files[0].diff).toMatch(/^-smtpd_banner = /m);
    // The health check that follows the drift check says so, naming the file.
    const warned = await until(
      'the drift health check',
      async () => {
        const c = await check(a, 'drift');
        return c?.status === 'warn' ? c : null;
      },
      120_000,
      500,
    );
    expect(warned.summary).toContain('/etc/postfix/main.cf');

    // Re-applying the stack (support re-runs install_mail_stack) puts the file back.
    const rerun = await h.call('POST', `/v1/admin/servers/${a.serverId}/steps/install_mail_stack/rerun`, { token: ops });
    expect(rerun.status, JSON.stringify(rerun.body)).toBe(202);
    await h.waitForStep(a.serverId, 'install_mail_stack', 'succeeded', 15 * 60_000);
    expect((await driftCheck(a)).drift.files).toEqual([]);
    expect((await onHost(a, 'grep -c edited-by-hand /etc/postfix/main.cf')).stdout.trim()).toBe('0');
  });

  it('rolls a changed stack out canary first; a server failing its checks is put back, the rollout halts and ops are alerted', async () => {
    const before = (await h.call('GET', '/v1/admin/fleet/versions', { token: ops })).body.current.version as string;
    // Both customers accept changes now: a window opened ten minutes ago, three hours long, every day.
    const minute = Math.floor((Date.now() / 60_000) % 1440);
    for (const site of Object.values(sites)) {
      const put = await h.call('PUT', `/v1/workspaces/${site.workspaceId}/maintenance-window`, {
        token: site.token,
        body: { window: { days: [0, 1, 2, 3, 4, 5, 6], startMinute: (minute + 1430) % 1440, durationMinutes: 180 } },
      });
      expect(put.status, JSON.stringify(put.body)).toBe(200);
    }
    const mainCf = join(templates, 'postfix/main.cf');
    await writeFile(mainCf, `${await readFile(mainCf, 'utf8')}${MARKER}\n`);
    const target = (await h.call('GET', '/v1/admin/fleet/versions', { token: ops })).body.current.version as string;
    expect(target).not.toBe(before);
    // B's own post-apply hook stops Dovecot once (it removes itself), as a broken local addition would.
    expect(
      (
        await onHost(
          sites.b,
          'install -d -m 0755 /etc/mailplane/post-apply.d && printf \'#!/bin/sh\\nrm -f "$0"\\nsystemctl stop dovecot\\n\' > /etc/mailplane/post-apply.d/stop-dovecot && chmod 0755 /etc/mailplane/post-apply.d/stop-dovecot',
        )
      ).code,
    ).toBe(0);

    const started = await h.call('POST', '/v1/admin/rollouts', { token: ops, body: { canaryServerId: sites.a.serverId } });
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    expect(started.body.servers.map((s: { serverId: string; wave: number }) => [s.serverId, s.wave])).toEqual([
      [sites.a.serverId, 0],
      [sites.b.serverId, 1],
    ]);
    const halted = await until(
      'the rollout to halt with B put back',
      async () => {
        const r = (await h.call('GET', `/v1/admin/rollouts/${started.body.id}`, { token: ops })).body;
        return r.status === 'halted' && r.servers.find((s: { serverId: string }) => s.serverId === sites.b.serverId)?.status === 'rolled_back' ? r : null;
      },
      40 * 60_000,
      2_000,
    );
    expect(halted.servers.find((s: { serverId: string }) => s.serverId === sites.a.serverId)).toMatchObject({ status: 'succeeded' });
    expect(halted.servers.find((s: { serverId: string }) => s.serverId === sites.b.serverId)).toMatchObject({
      status: 'rolled_back',
      failedCheck: 'services',
      fromVersion: before,
    });
    expect(halted.haltReason).toContain(sites.b.hostname);

    const alerts = (await h.call('GET', '/v1/admin/alerts?kind=rollout_halted', { token: ops })).body.alerts;
    expect(alerts).toHaveLength(1);
    expect(alerts[0].message).toContain(sites.b.hostname);
    expect(alerts[0].message).toContain('"services"');
    expect(alerts[0].serverId).toBe(sites.b.serverId);

    // A runs the new version, B the previous one; both with every service running.
    const [a, b] = [await driftCheck(sites.a), await driftCheck(sites.b)];
    expect(a).toMatchObject({ version: target, current: { upToDate: true } });
    expect(b).toMatchObject({ version: before, current: { upToDate: false } });
    expect((await onHost(sites.a, `grep -cxF '${MARKER}' /etc/postfix/main.cf`)).stdout.trim()).toBe('1');
    expect((await onHost(sites.b, `grep -cxF '${MARKER}' /etc/postfix/main.cf`)).stdout.trim()).toBe('0');
    for (const s of [a, b]) {
      expect(s.drift.servicesDown).toEqual([]);
      expect(s.drift.files).toEqual([]);
    }
    expect((await onHost(sites.b, `systemctl is-active ${MAIL_STACK_SERVICES.join(' ')}`)).stdout.trim().split('\n')).toEqual(
      MAIL_STACK_SERVICES.map(() => 'active'),
    );
    const fleet = (await h.call('GET', '/v1/admin/fleet/versions', { token: ops })).body.versions;
    expect(fleet).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ version: target, servers: 1, current: true }),
        expect.objectContaining({ version: before, servers: 1, current: false }),
      ]),
    );

    const aborted = await h.call('POST', `/v1/admin/rollouts/${started.body.id}/abort`, { token: ops });
    expect(aborted.status).toBe(200);
    const actions = (await h.database.db.select({ action: auditLog.action }).from(auditLog).where(eq(auditLog.target, started.body.id))).map((r) => r.action);
    expect(actions).toEqual(expect.arrayContaining(['rollout.start', 'rollout.halt', 'rollout.abort']));
  });

  it('warns of a pending reboot, reboots in the window, and afterwards every service runs and the warning is gone', async () => {
    const a = sites.a;
    // As unattended-upgrades leaves it after a library update.
    expect((await onHost(a, 'echo "*** System restart required ***" > /run/reboot-required && echo libc6 > /run/reboot-required.pkgs')).code).toBe(0);
    const seen = await driftCheck(a);
    expect(seen.drift.updates).toMatchObject({ rebootRequired: true, rebootPackages: ['libc6'] });
    const warning = await until(
      'the updates warning',
      async () => {
        const c = await check(a, 'updates');
        return c?.status === 'warn' ? c : null;
      },
      120_000,
      500,
    );
    expect(warning.summary).toContain('reboot is required');
    const bootBefore = (await onHost(a, 'cat /proc/sys/kernel/random/boot_id')).stdout.trim();

    // The window is open (set above): the minute sweep finds the reboot due.
    await h.ctx.queue.send('fleet.sweep', {});
    const [rebooted] = await until(
      'the reboot to be audited',
      async () => {
        const rows = await h.database.db
          .select()
          .from(auditLog)
          .where(and(eq(auditLog.action, 'server.reboot'), eq(auditLog.target, a.serverId)));
        return rows.length > 0 ? rows : null;
      },
      180_000,
      1_000,
    );
    // The first health run that read the host after the reboot (security updates the mirror has
    // since may still be pending): the reboot job looks only once the boot has finished.
    const { after, services } = await until(
      'the checks after the reboot',
      async () => {
        const [u, s] = [await check(a, 'updates'), await check(a, 'services')];
        const seenAt = u?.details['checkedAt'];
        return u && s && typeof seenAt === 'string' && seenAt > rebooted!.at.toISOString() && s.details['checkedAt'] === seenAt
          ? { after: u, services: s }
          : null;
      },
      10 * 60_000,
      1_000,
    );
    expect(after.details['rebootRequired']).toBe(false);
    expect(services.status, services.summary).toBe('pass');
    expect(after.summary).not.toMatch(/reboot is required/);
    expect((await onHost(a, 'cat /proc/sys/kernel/random/boot_id')).stdout.trim()).not.toBe(bootBefore);
    expect((await onHost(a, `systemctl is-active ${MAIL_STACK_SERVICES.join(' ')}`)).stdout.trim().split('\n')).toEqual(
      MAIL_STACK_SERVICES.map(() => 'active'),
    );
    const [row] = await h.database.db.select({ last: serverStacks.lastRebootAt }).from(serverStacks).where(eq(serverStacks.serverId, a.serverId));
    expect(row?.last).toBeTruthy();
  });
});
