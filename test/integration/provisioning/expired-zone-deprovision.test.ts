/**
 * Cancelling a server whose Cloudflare zone is already gone: Cloudflare deletes a Free zone left
 * pending 28 days, and afterwards answers its id with a refusal (403 9109), not a 404. The
 * deprovision run must still finish (the records went with the zone) rather than fail on the
 * listing of a zone that no longer exists.
 *
 * The wait is re-checked only once an hour here, so activate_zone does not publish into a new
 * zone between Cloudflare's deletion and the cancellation.
 */
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dnsRecords, servers } from '../../../src/db/schema/index.ts';
import { startHarness, type Harness } from '../../support/provisioning.ts';
import { until } from '../../support/until.ts';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ env: { SANDBOX_ZONE_ACTIVATION: 'manual', PROVISIONING_WAIT_RECHECK_SECONDS: '3600' } });
});
afterAll(async () => {
  await h?.close();
});

describe('deprovisioning after Cloudflare deleted the pending zone', () => {
  it("finishes, counting the zone's records as gone with it", async () => {
    const { token, workspaceId } = await h.customer('gone-zone@example.org');
    const { serverId } = await h.subscribe(token, workspaceId, 'gone-zone.example');
    const view = () => h.call('GET', `/v1/workspaces/${workspaceId}/servers/${serverId}`, { token });
    await until('zone_pending', async () => (await view()).body.waitingFor?.some((w: { code: string }) => w.code === 'zone_pending'));
    expect(h.sandbox.cloudflare!.expirePendingZone('gone-zone.example')).toBe(true);
    const [server] = await h.database.db.select().from(servers).where(eq(servers.id, serverId));
    await h.cancelSubscription(server!.subscriptionId);
    const done = await h.waitForServer(serverId, ['deleted', 'failed'], 60_000);
    expect(done.status).toBe('deleted');
    const rows = await h.database.db.select().from(dnsRecords).where(eq(dnsRecords.serverId, serverId));
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.filter((r) => r.state !== 'deleted')).toEqual([]);
  }, 180_000);
});
