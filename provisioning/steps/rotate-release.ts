/**
 * release_old_ip: nothing refers to the old address any more (DNS, PTR and the
 * mail stack moved), so it is detached, released at the provider and kept in
 * the history as released. Its open listing alerts are resolved: the listing
 * no longer concerns this server.
 */
import { and, eq, isNull, sql } from 'drizzle-orm';
import { alerts } from '../../src/db/schema/index.ts';
import type { Zone } from '../../src/providers/compute/interface.ts';
import type { StepDefinition } from '../context.ts';
import { releaseIp } from '../ips.ts';
import { oldIpOf } from './rotate-common.ts';

export const releaseOldIp: StepDefinition = {
  name: 'release_old_ip',
  async run(ctx) {
    const { deps, server, log } = ctx;
    const { old } = await oldIpOf(ctx);
    if (old.state !== 'released') {
      await deps.compute.detachIp(server.zone as Zone, old.providerIpId);
      await releaseIp(deps, server, old, log);
    }
    const resolved = await deps.database.db
      .update(alerts)
      .set({ resolvedAt: new Date(deps.clock.now()) })
      .where(and(eq(alerts.serverId, server.id), eq(alerts.kind, 'ip_listed'), sql`${alerts.details}->>'address' = ${old.address}`, isNull(alerts.resolvedAt)))
      .returning({ id: alerts.id });
    if (resolved.length > 0) log(`resolved ${resolved.length} listing alert(s) of ${old.address}`);
    return { released: old.address, resolvedAlerts: resolved.length };
  },
};
