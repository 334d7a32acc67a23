/**
 * Reconciliation: what the provider holds under the `mailplane` tag vs what
 * the database says.
 *
 * - orphan: a tagged server, IP or detached volume that no live row accounts for (its owner is
 *   unknown or deleted, or a settled server uses another resource). It costs
 *   money and may be reachable; `apply` deletes it.
 * - ghost: a settled server's row whose instance or IP is gone at the provider.
 *   Reported only: fixing it means re-provisioning, a human decision.
 *
 * Servers with work in flight (provisioning, deprovisioning, any running run
 * such as a rotation) are skipped: a step may hold a resource it created a
 * moment ago and not yet recorded, which would look like an orphan. Failed
 * servers are skipped too: resuming adopts what their steps left behind.
 *
 * Each finding is an alert (deduped by resource); findings that disappeared
 * since the last pass have their alert resolved. A ready server whose instance
 * is gone is marked failed with the reason (it serves nothing, so it must not
 * look ready); it stays a ghost on later passes until someone provisions it again.
 */
import { and, eq, inArray, isNull, like, or } from 'drizzle-orm';
import { MAILPLANE_TAG } from '../../provisioning/tags.ts';
import { audit, type Actor } from '../audit.ts';
import { alerts, provisioningRuns, serverIps, servers } from '../db/schema/index.ts';
import { moveServer } from '../servers/status.ts';
import type { Zone } from '../providers/compute/interface.ts';
import { enqueueDeliveries } from './alert-delivery.ts';
import { ghostKey, orphanKey } from './alert-keys.ts';
import type { OpsDeps } from './deps.ts';

export interface Finding {
  kind: 'orphan' | 'ghost';
  resource: 'server' | 'ip' | 'volume' | 'security_group';
  /** Provider id of the resource (for a ghost: the id the row refers to). */
  providerId: string | null;
  zone: string;
  /** Our server the resource belongs to, when known. */
  serverId: string | null;
  description: string;
  dedupeKey: string;
}

const OWNER_TAG = /^mailplane-server=([0-9a-f-]{36})$/;
const ownerOf = (tags: string[]) => tags.map((t) => OWNER_TAG.exec(t)?.[1]).find(Boolean) ?? null;

export async function findDiscrepancies(deps: Pick<OpsDeps, 'database' | 'compute'>): Promise<Finding[]> {
  const db = deps.database.db;
  const tagged = await deps.compute.listTagged(MAILPLANE_TAG);
  const rows = new Map(
    (
      await db
        .select({ id: servers.id, status: servers.status, providerServerId: servers.providerServerId, zone: servers.zone, hostname: servers.hostname })
        .from(servers)
    ).map((r) => [r.id, r]),
  );
  const ipRows = await db.select().from(serverIps).where(isNull(serverIps.releasedAt));
  const busy = new Set(
    (await db.select({ serverId: provisioningRuns.serverId }).from(provisioningRuns).where(eq(provisioningRuns.status, 'running'))).map((r) => r.serverId),
  );
  type Row = NonNullable<ReturnType<typeof rows.get>>;
  const skip = (row: Row) => busy.has(row.id) || ['provisioning', 'deprovisioning', 'failed'].includes(row.status);
  const settled = (row: Row) => row.status === 'ready' || row.status === 'suspended';
  const findings: Finding[] = [];

  for (const s of tagged.servers) {
    const owner = ownerOf(s.tags);
    const row = owner ? rows.get(owner) : undefined;
    // What is left: no owner, a deleted owner, or a settled owner that uses another instance.
    if (row && (skip(row) || row.providerServerId === s.id)) continue;
    findings.push({
      kind: 'orphan',
      resource: 'server',
      providerId: s.id,
      zone: s.zone,
      serverId: row?.id ?? null,
      dedupeKey: orphanKey('server', s.id),
      description: `instance ${s.name} (${s.id}) in ${s.zone} ${row ? `belongs to server ${row.id}, which is ${row.status} and uses ${row.providerServerId ?? 'no instance'}` : 'belongs to no server'}`,
    });
  }
  const knownIps = new Set(ipRows.map((r) => r.providerIpId));
  for (const ip of tagged.ips) {
    if (knownIps.has(ip.id)) continue;
    const owner = ownerOf(ip.tags);
    const row = owner ? rows.get(owner) : undefined;
    if (row && skip(row)) continue;
    findings.push({
      kind: 'orphan',
      resource: 'ip',
      providerId: ip.id,
      zone: ip.zone,
      serverId: row?.id ?? null,
      dedupeKey: orphanKey('ip', ip.id),
      description: `${ip.family} ${ip.address} (${ip.id}) in ${ip.zone} is reserved but ${row ? `not used by server ${row.id} (${row.status})` : 'belongs to no server'}`,
    });
  }

  // A Block Storage volume outlives its instance; detached and tagged as ours, nothing uses it.
  for (const volume of tagged.volumes) {
    if (volume.serverId) continue;
    const owner = ownerOf(volume.tags);
    const row = owner ? rows.get(owner) : undefined;
    if (row && skip(row)) continue;
    findings.push({
      kind: 'orphan',
      resource: 'volume',
      providerId: volume.id,
      zone: volume.zone,
      serverId: row?.id ?? null,
      dedupeKey: orphanKey('volume', volume.id),
      description: `volume ${volume.id} in ${volume.zone} is detached and ${row ? `left over from server ${row.id} (${row.status})` : 'belongs to no server'}`,
    });
  }

  // A security group no instance uses, whose server is not live, only clutters the project (a quota).
  for (const group of tagged.securityGroups) {
    if (group.serverIds.length > 0) continue;
    const owner = ownerOf(group.tags);
    const row = owner ? rows.get(owner) : undefined;
    if (row && (skip(row) || row.status !== 'deleted')) continue;
    findings.push({
      kind: 'orphan',
      resource: 'security_group',
      providerId: group.id,
      zone: group.zone,
      serverId: row?.id ?? null,
      dedupeKey: orphanKey('security_group', group.id),
      description: `security group ${group.id} in ${group.zone} is unused and ${row ? `left over from server ${row.id} (deleted)` : 'belongs to no server'}`,
    });
  }

  const liveInstances = new Set(tagged.servers.map((s) => s.id));
  const liveIps = new Set(tagged.ips.map((i) => i.id));
  for (const row of rows.values()) {
    // A failed server whose recorded instance is gone: still a ghost (reconciliation may have failed it for that).
    const failedGhost = row.status === 'failed' && !busy.has(row.id) && row.providerServerId !== null && !liveInstances.has(row.providerServerId);
    if (!failedGhost && (!settled(row) || skip(row))) continue;
    if (!row.providerServerId || !liveInstances.has(row.providerServerId)) {
      findings.push({
        kind: 'ghost',
        resource: 'server',
        providerId: row.providerServerId,
        zone: row.zone,
        serverId: row.id,
        dedupeKey: ghostKey('server', row.id),
        description: `server ${row.hostname} (${row.id}) is ${row.status} but its instance ${row.providerServerId ?? '(none)'} does not exist`,
      });
    }
  }
  for (const ip of ipRows) {
    const row = rows.get(ip.serverId);
    if (!row || !settled(row) || skip(row) || liveIps.has(ip.providerIpId)) continue;
    findings.push({
      kind: 'ghost',
      resource: 'ip',
      providerId: ip.providerIpId,
      zone: row.zone,
      serverId: row.id,
      dedupeKey: ghostKey('ip', ip.id),
      description: `${ip.address} (${ip.providerIpId}) of server ${row.hostname} is ${ip.state} in the database but gone at the provider`,
    });
  }
  return findings;
}

export interface ReconcileResult {
  findings: Finding[];
  deleted: Finding[];
  resolvedAlerts: number;
}

export async function reconcile(deps: OpsDeps, opts: { apply: boolean; actor: Actor }): Promise<ReconcileResult> {
  const findings = await findDiscrepancies(deps);
  const deleted: Finding[] = [];
  if (opts.apply) {
    for (const f of findings.filter((x) => x.kind === 'orphan' && x.providerId)) {
      if (f.resource === 'server') await deps.compute.deleteServer(f.zone as Zone, f.providerId!);
      else if (f.resource === 'volume') await deps.compute.deleteVolume(f.zone as Zone, f.providerId!);
      else if (f.resource === 'security_group') await deps.compute.deleteSecurityGroup(f.zone as Zone, f.providerId!);
      else await deps.compute.deleteIp(f.zone as Zone, f.providerId!);
      deleted.push(f);
      await audit(deps.database.db, opts.actor, {
        action: 'reconcile.delete_orphan',
        target: f.providerId,
        details: { resource: f.resource, zone: f.zone, description: f.description },
      });
      deps.log.warn({ resource: f.resource, providerId: f.providerId, zone: f.zone }, 'reconcile: deleted orphan');
    }
  }
  const gone = new Set(deleted.map((d) => d.dedupeKey));
  const current = findings.filter((f) => !gone.has(f.dedupeKey));
  const resolvedAlerts = await deps.database.db.transaction(async (tx) => {
    for (const f of current.filter((x) => x.kind === 'ghost' && x.resource === 'server' && x.serverId)) {
      const reason = `Its instance ${f.providerId ?? '(none)'} is gone at the provider (found by reconciliation): the server must be provisioned again`;
      const failed = await moveServer(tx, f.serverId!, 'instance_gone', { reason, now: new Date(deps.clock.now()) });
      if (!failed) continue;
      await audit(tx, opts.actor, {
        action: 'server.instance_gone',
        workspaceId: failed.workspaceId,
        target: failed.id,
        details: { providerServerId: f.providerId, zone: f.zone },
      });
      deps.log.warn({ serverId: failed.id, providerServerId: f.providerId }, 'reconcile: instance gone, server marked failed');
    }
    for (const f of current) {
      const opened = await deps.alerts.open(tx, {
        kind: f.kind === 'orphan' ? 'orphan_resource' : 'ghost_resource',
        severity: 'warning',
        serverId: f.serverId,
        dedupeKey: f.dedupeKey,
        message: f.description,
        details: { resource: f.resource, providerId: f.providerId, zone: f.zone },
      });
      if (opened.created) await enqueueDeliveries(deps, tx, opened.id, 'opened');
    }
    const open = await tx
      .select({ id: alerts.id, dedupeKey: alerts.dedupeKey })
      .from(alerts)
      .where(and(isNull(alerts.resolvedAt), or(like(alerts.dedupeKey, 'orphan_resource:%'), like(alerts.dedupeKey, 'ghost_resource:%'))));
    const stillThere = new Set(current.map((f) => f.dedupeKey));
    const stale = open.filter((a) => !stillThere.has(a.dedupeKey)).map((a) => a.id);
    if (stale.length === 0) return 0;
    await tx
      .update(alerts)
      .set({ resolvedAt: new Date(deps.clock.now()) })
      .where(inArray(alerts.id, stale));
    for (const id of stale) await enqueueDeliveries(deps, tx, id, 'resolved');
    return stale.length;
  });
  return { findings, deleted, resolvedAlerts };
}
