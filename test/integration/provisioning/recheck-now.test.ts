/**
 * "I have done it: check now". A waiting server is re-checked only every
 * PROVISIONING_WAIT_RECHECK_SECONDS (an hour here), so a customer who moved
 * their nameservers would wait for nothing: the recheck route checks the
 * waiting steps at once, and the sandbox's own person actions wake them too.
 */
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog, provisioningSteps } from '../../../src/db/schema/index.ts';
import { runMailplane } from '../../support/cli.ts';
import { startHarness, type Harness } from '../../support/provisioning.ts';
import { until } from '../../support/until.ts';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ env: { SANDBOX_ZONE_ACTIVATION: 'manual', PROVISIONING_WAIT_RECHECK_SECONDS: '3600' } });
});
afterAll(async () => {
  await h?.close();
});

async function waitingServer(email: string, domain: string) {
  const { token, workspaceId } = await h.customer(email);
  const { serverId } = await h.subscribe(token, workspaceId, domain);
  const view = () => h.call('GET', `/v1/workspaces/${workspaceId}/servers/${serverId}`, { token });
  await until('zone_pending', async () => (await view()).body.waitingFor?.find((w: { code: string }) => w.code === 'zone_pending'));
  const checks = async () => (await view()).body.waitingFor.find((w: { code: string }) => w.code === 'zone_pending')?.checks as number | undefined;
  return { token, workspaceId, serverId, view, checks, recheck: () => h.call('POST', `/v1/workspaces/${workspaceId}/servers/${serverId}/recheck`, { token }) };
}

describe('a waiting server is checked now when a person says they acted', () => {
  it('checks the waiting step at once, and continues to ready once the nameservers really moved', async () => {
    const s = await waitingServer('recheck@example.org', 'recheck-mail.example');
    expect(await s.checks()).toBe(1);

    // Not moved yet: checked now, still waiting, one more check and still no attempt spent.
    const early = await s.recheck();
    expect(early.status, JSON.stringify(early.body)).toBe(202);
    expect(early.body.steps).toEqual(['activate_zone']);
    await until('a second check', async () => (await s.checks()) === 2);
    const [step] = await h.database.db
      .select()
      .from(provisioningSteps)
      .where(and(eq(provisioningSteps.name, 'activate_zone'), eq(provisioningSteps.status, 'waiting')));
    expect(step!.attempt).toBeLessThanOrEqual(1);

    // Moved (straight in the emulator, so nothing but the recheck can notice it within the hour).
    h.sandbox.cloudflare!.activateZone('recheck-mail.example');
    expect((await s.recheck()).status).toBe(202);
    expect((await h.waitForServer(s.serverId, ['ready', 'failed'], 90_000)).status).toBe('ready');

    // Nothing waits on a ready server: a clear 409, and nothing was queued.
    const done = await s.recheck();
    expect(done.status).toBe(409);
    expect(done.headers.get('content-type')).toContain('application/problem+json');
    expect(done.body.code ?? done.body.type).toMatch(/nothing_waiting/);
    const audits = await h.database.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.action, 'provisioning.recheck_now'), eq(auditLog.target, s.serverId)));
    expect(audits).toHaveLength(2);
  }, 180_000);

  it('`mailplane sandbox activate-zone` wakes the waiting server without its hour-long wait', async () => {
    const s = await waitingServer('woken@example.org', 'woken-mail.example');
    const activated = await runMailplane(['sandbox', 'activate-zone', 'woken-mail.example'], { ...h.env, LOG_LEVEL: 'warn' });
    expect(activated.code, activated.stderr).toBe(0);
    expect(activated.stdout).toContain('its server is checked now');
    expect((await h.waitForServer(s.serverId, ['ready', 'failed'], 90_000)).status).toBe('ready');
  }, 180_000);
});
