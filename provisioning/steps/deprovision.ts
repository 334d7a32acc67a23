/**
 * The deprovision plan: DNS records mailplane created are deleted (the zone
 * and the customer's own records stay), the instance is terminated, and every
 * IP ever reserved for the server is released — found by id and by tag, so a
 * resource created just before a crash is not left behind.
 *
 * A provision run still in flight was cancelled when this run started, but a
 * step of it may be mid-call; each step here first waits for those to settle,
 * or it could delete a server that the in-flight step then recreates.
 */
import { and, eq, inArray, isNull, ne } from 'drizzle-orm';
import { dkimKeys, dnsRecords, provisioningRuns, provisioningSteps, serverIps, servers } from '../../src/db/schema/index.ts';
import { ProviderError } from '../../src/errors.ts';
import type { Zone } from '../../src/providers/compute/interface.ts';
import type { StepContext, StepDefinition } from '../context.ts';
import { keysOf } from '../dkim/keys.ts';
import { deleteGenerationRecords } from '../dkim/records.ts';
import { dmarcReportAuthorization } from '../dns-records.ts';
import { serverTag } from '../tags.ts';

async function waitForInFlightSteps({ deps, server, run }: StepContext): Promise<void> {
  const busy = await deps.database.db
    .select({ name: provisioningSteps.name })
    .from(provisioningSteps)
    .innerJoin(provisioningRuns, eq(provisioningRuns.id, provisioningSteps.runId))
    .where(
      and(eq(provisioningRuns.serverId, server.id), ne(provisioningRuns.id, run.id), inArray(provisioningSteps.status, ['running', 'queued', 'retrying'])),
    );
  if (busy.length > 0) {
    throw new ProviderError({
      provider: 'mailplane',
      retryable: true,
      code: 'steps_in_flight',
      detail: `waiting for in-flight steps of the cancelled run: ${busy.map((b) => b.name).join(', ')}`,
    });
  }
}

export const deleteDnsRecords: StepDefinition = {
  name: 'delete_dns_records',
  maxAttempts: 30,
  async run(ctx) {
    await waitForInFlightSteps(ctx);
    const { deps, server, log } = ctx;
    const rows = await deps.database.db
      .select()
      .from(dnsRecords)
      .where(and(eq(dnsRecords.serverId, server.id), eq(dnsRecords.state, 'published')));
    if (!server.dnsZoneId) return { deleted: 0 };
    // Cloudflare deletes a Free zone left pending 28 days, records and all, and then refuses its id
    // (403, not 404): asked by name, a zone that is gone or another one means nothing is left to delete.
    const zone = await deps.dns.findZone(server.domain);
    const zoneGone = zone?.id !== server.dnsZoneId;
    if (zoneGone) log(`zone ${server.dnsZoneId} of ${server.domain} is gone (Cloudflare deleted it with its records): nothing to delete there`);
    const live = zoneGone ? [] : await deps.dns.listRecords(server.dnsZoneId);
    let deleted = 0;
    for (const row of rows) {
      // By provider id, and by exact content in case the id was never saved.
      const matches = live.filter((r) => r.id === row.providerRecordId || (r.type === row.type && r.name === row.name && r.content === row.content));
      for (const r of matches) {
        await deps.dns.deleteRecord(server.dnsZoneId, r.id);
        deleted++;
      }
      await deps.database.db.update(dnsRecords).set({ state: 'deleted', updatedAt: new Date() }).where(eq(dnsRecords.id, row.id));
      log(`deleted ${row.type} ${row.name}`);
    }
    // DKIM keys of earlier rotations (retiring or revoked) are not among the rows above: their records go too.
    for (const key of await keysOf(deps.database.db, server.id, server.domain)) {
      if (key.state === 'deleted') continue;
      if (!zoneGone) deleted += await deleteGenerationRecords(deps.dns, server.dnsZoneId, key);
      if (key.state !== 'active') {
        await deps.database.db.update(dkimKeys).set({ state: 'deleted', deletedAt: new Date(), nextTransitionAt: null }).where(eq(dkimKeys.id, key.id));
      }
    }
    // The SPF record carried the customer's other senders: they get it back without the server's addresses.
    if (server.spfTerms.length > 0 && !zoneGone) {
      const { action } = await deps.dns.upsertRecord(
        server.dnsZoneId,
        { type: 'TXT', name: server.domain, content: ['v=spf1', ...server.spfTerms, '~all'].join(' ') },
        (r) => r.type === 'TXT' && r.name === server.domain && /^v=spf1(\s|$)/i.test(r.content),
      );
      log(`SPF of ${server.domain} left with the customer's senders only: ${action}`);
    }
    // The DMARC report authorisation publish_dns left in mailplane's own rua domain (RFC 7489 §7.1).
    const auth = dmarcReportAuthorization({ domain: server.domain, dmarcRua: deps.settings.dmarcRua });
    const ruaZone = auth ? await deps.dns.findZone(auth.ruaDomain) : null;
    if (auth && ruaZone) {
      for (const r of await deps.dns.listRecords(ruaZone.id, { type: 'TXT', name: auth.name })) await deps.dns.deleteRecord(ruaZone.id, r.id);
    }
    return { deleted };
  },
};

export const deleteServer: StepDefinition = {
  name: 'delete_server',
  maxAttempts: 30,
  async run(ctx) {
    await waitForInFlightSteps(ctx);
    const { deps, server, log } = ctx;
    const zone = server.zone as Zone;
    const ids = new Set((await deps.compute.findServersByTag(zone, serverTag(server.id))).map((s) => s.id));
    if (server.providerServerId) ids.add(server.providerServerId);
    for (const id of ids) {
      await deps.compute.deleteServer(zone, id);
      log(`terminated instance ${id}`);
    }
    // The boot disk is Block Storage, which outlives its instance: anything still carrying our tag goes.
    const volumes = (await deps.compute.findVolumesByTag(zone, serverTag(server.id))).filter((v) => !v.serverId);
    for (const volume of volumes) {
      await deps.compute.deleteVolume(zone, volume.id);
      log(`deleted volume ${volume.id}`);
    }
    // Its security group goes once no instance uses it.
    const groups = await deps.compute.findSecurityGroupsByTag(zone, serverTag(server.id));
    for (const group of groups) {
      await deps.compute.deleteSecurityGroup(zone, group.id);
      log(`deleted security group ${group.id}`);
    }
    await deps.database.db.update(servers).set({ providerServerId: null, updatedAt: new Date() }).where(eq(servers.id, server.id));
    return { deleted: [...ids], volumes: volumes.map((v) => v.id), securityGroups: groups.map((g) => g.id) };
  },
};

export const releaseIps: StepDefinition = {
  name: 'release_ips',
  maxAttempts: 30,
  async run(ctx) {
    await waitForInFlightSteps(ctx);
    const { deps, server, log } = ctx;
    const zone = server.zone as Zone;
    const rows = await deps.database.db
      .select()
      .from(serverIps)
      .where(and(eq(serverIps.serverId, server.id), isNull(serverIps.releasedAt)));
    const ids = new Set(rows.map((r) => r.providerIpId));
    for (const ip of await deps.compute.findIpsByTag(zone, serverTag(server.id))) ids.add(ip.id);
    for (const id of ids) {
      await deps.compute.deleteIp(zone, id);
      log(`released IP ${id}`);
    }
    await deps.database.db
      .update(serverIps)
      .set({ state: 'released', releasedAt: new Date() })
      .where(and(eq(serverIps.serverId, server.id), isNull(serverIps.releasedAt)));
    return { released: ids.size };
  },
};
