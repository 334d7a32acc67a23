/**
 * attach_replacement_ip: the checked replacement attached to the running
 * instance next to the old address (both answer during the switch), then
 * recorded as the server's address so the re-rendered mail stack, SSH and the
 * DNS records use it from here on.
 */
import { eq } from 'drizzle-orm';
import { serverIps, servers } from '../../src/db/schema/index.ts';
import type { Zone } from '../../src/providers/compute/interface.ts';
import type { StepDefinition } from '../context.ts';
import { adoptHostAddresses } from '../host-addresses.ts';
import { oldIpOf, replacementOf } from './rotate-common.ts';

export const attachReplacementIp: StepDefinition = {
  name: 'attach_replacement_ip',
  async run(ctx) {
    const { deps, server, log } = ctx;
    const { old } = await oldIpOf(ctx);
    const checked = await replacementOf(ctx, old);
    if (!checked || (checked.state !== 'clean' && checked.state !== 'active')) throw new Error('no checked replacement IP (check_replacement_ip)');
    if (!server.providerServerId) throw new Error('the server has no instance');
    const zone = server.zone as Zone;
    const instance = await deps.compute.getServer(zone, server.providerServerId);
    if (!instance) throw new Error(`instance ${server.providerServerId} is gone`);
    if (!instance.ipIds.includes(checked.providerIpId)) {
      await deps.compute.attachIp(zone, checked.providerIpId, instance.id);
      log(`attached ${checked.address} to ${instance.id}`);
    }
    // A routed IPv6 is published as the address mailplane fixes in its prefix (host-addresses.ts).
    const attached = (await deps.compute.getServer(zone, instance.id)) ?? instance;
    const [ip] = (await adoptHostAddresses(deps, attached, [checked], log)) as [typeof checked];
    await deps.database.db.transaction(async (tx) => {
      await tx.update(serverIps).set({ state: 'active' }).where(eq(serverIps.id, ip.id));
      await tx
        .update(servers)
        .set({ [ip.family]: ip.address, updatedAt: new Date() })
        .where(eq(servers.id, server.id));
    });
    return { address: ip.address, replaces: old.address };
  },
};
