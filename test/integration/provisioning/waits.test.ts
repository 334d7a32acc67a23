/**
 * Waits that belong to people, on the sandbox as a person would see them:
 * SANDBOX_ZONE_ACTIVATION=manual (the customer has not moved the nameservers)
 * and SANDBOX_SMTP_BLOCKED=1 (Scaleway blocks outbound SMTP on the account).
 * The server shows `waiting` with what to do, is re-checked without spending
 * attempts, and continues by itself once the person acted.
 */
import { and, eq, isNull } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alerts, provisioningSteps } from '../../../src/db/schema/index.ts';
import { runMailplane } from '../../support/cli.ts';
import { startHarness, type Harness } from '../../support/provisioning.ts';
import { until } from '../../support/until.ts';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ env: { SANDBOX_ZONE_ACTIVATION: 'manual', SANDBOX_SMTP_BLOCKED: '1', PROVISIONING_WAIT_RECHECK_SECONDS: '1' } });
});
afterAll(async () => {
  await h?.close();
});

describe('waits that belong to people', () => {
  it('waits for the nameservers, then for outbound SMTP, spending no attempts, and ends ready by itself', async () => {
    const { token, workspaceId } = await h.customer('waiter@example.org');
    const { serverId } = await h.subscribe(token, workspaceId, 'waiter-mail.example');
    const view = () => h.call('GET', `/v1/workspaces/${workspaceId}/servers/${serverId}`, { token });

    // 1. The zone is pending: the customer is shown the nameservers to set.
    const pending = await until('zone_pending', async () => {
      const res = await view();
      return res.body.status === 'waiting' && res.body.waitingFor.find((w: { code: string }) => w.code === 'zone_pending') && res.body;
    });
    const wait = pending.waitingFor.find((w: { code: string }) => w.code === 'zone_pending');
    const zone = h.sandbox.cloudflare!.zones().find((z) => z.name === 'waiter-mail.example')!;
    expect(wait).toMatchObject({ step: 'activate_zone', party: 'customer', details: { nameServers: zone.name_servers } });
    expect(wait.action).toContain(zone.name_servers[0]);
    expect(wait.action).toContain('28 days');
    // Several checks later, still one attempt: waiting spends no retry budget.
    await until('three checks', async () =>
      (await view()).body.waitingFor.find((w: { code: string; checks: number }) => w.code === 'zone_pending' && w.checks >= 3),
    );
    const [activation] = await h.database.db
      .select()
      .from(provisioningSteps)
      .where(and(eq(provisioningSteps.name, 'activate_zone'), eq(provisioningSteps.status, 'waiting')));
    expect(activation!.attempt).toBeLessThanOrEqual(1);

    // 2. The customer moves the nameservers (as a person does it: the CLI); the next wait is Scaleway's SMTP block, with an ops alert.
    const activated = await runMailplane(['sandbox', 'activate-zone', 'waiter-mail.example'], { ...h.env, LOG_LEVEL: 'warn' });
    expect(activated.code, activated.stderr).toBe(0);
    expect(h.sandbox.cloudflare!.zones().find((z) => z.name === 'waiter-mail.example')?.status).toBe('active');
    const smtp = await until(
      'outbound_smtp_blocked',
      async () => {
        const res = await view();
        return res.body.waitingFor.find((w: { code: string }) => w.code === 'outbound_smtp_blocked');
      },
      90_000,
    );
    expect(smtp).toMatchObject({ step: 'check_network', party: 'ops' });
    const [alert] = await h.database.db
      .select()
      .from(alerts)
      .where(and(eq(alerts.kind, 'outbound_smtp_blocked'), isNull(alerts.resolvedAt)));
    expect(alert?.serverId).toBe(serverId);
    expect(alert?.message).toContain('enable SMTP');
    // The block lives on the server's own security group, created while the account was blocked.
    const group = h.sandbox.scaleway!.listSecurityGroups().find((g) => g.tags.includes(`mailplane-server=${serverId}`))!;
    expect(group.smtpBlocked).toBe(true);
    expect(alert?.message).toContain(group.id);
    expect(alert?.message).toContain('"Enable SMTP"');

    // 3. Scaleway enables SMTP on the account (`mailplane sandbox smtp-open`). The group stays blocked, as
    // on Scaleway, until it is asked again: check_network asks on the server's group and ends ready by itself.
    const opened = await runMailplane(['sandbox', 'smtp-open'], { ...h.env, LOG_LEVEL: 'warn' });
    expect(opened.code, opened.stderr).toBe(0);
    expect(h.sandbox.scaleway!.smtpBlocked).toBe(false);
    const ready = await h.waitForServer(serverId, ['ready', 'failed'], 90_000);
    expect(ready.status).toBe('ready');
    expect(h.sandbox.scaleway!.listSecurityGroups().find((g) => g.id === group.id)?.smtpBlocked).toBe(false);
    const [network] = await h.database.db
      .select()
      .from(provisioningSteps)
      .where(and(eq(provisioningSteps.name, 'check_network'), eq(provisioningSteps.status, 'succeeded')));
    expect(network?.log).toContain(`asked Scaleway to enable SMTP on security group ${group.id}: enabled`);
    const [after] = await h.database.db.select().from(alerts).where(eq(alerts.id, alert!.id));
    expect(after!.resolvedAt).not.toBeNull();
    expect((await view()).body.waitingFor).toEqual([]);
  }, 240_000);

  it('publishes again into a new zone when Cloudflare deleted the one left pending 28 days, and shows the new nameservers', async () => {
    const { token, workspaceId } = await h.customer('slow@example.org');
    const { serverId } = await h.subscribe(token, workspaceId, 'slow-mail.example');
    const view = () => h.call('GET', `/v1/workspaces/${workspaceId}/servers/${serverId}`, { token });
    const nsOf = async () =>
      (await view()).body.waitingFor.find((w: { code: string }) => w.code === 'zone_pending')?.details.nameServers as string[] | undefined;
    const first = await until('zone_pending', nsOf);
    const oldZone = h.sandbox.cloudflare!.zones().find((z) => z.name === 'slow-mail.example')!;
    expect(h.sandbox.cloudflare!.expirePendingZone('slow-mail.example')).toBe(true);
    const second = await until('new nameservers', async () => {
      const ns = await nsOf();
      return ns && ns.join() !== first.join() && ns;
    });
    const newZone = h.sandbox.cloudflare!.zones().find((z) => z.name === 'slow-mail.example')!;
    expect(newZone.id).not.toBe(oldZone.id);
    expect(second).toEqual(newZone.name_servers);
    expect(h.sandbox.cloudflare!.records(newZone.id).some((r) => r.type === 'MX')).toBe(true);
    h.sandbox.cloudflare!.activateZone('slow-mail.example');
    expect((await h.waitForServer(serverId, ['ready', 'failed'], 90_000)).status).toBe('ready');
  }, 240_000);
});
