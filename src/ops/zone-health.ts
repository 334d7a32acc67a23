/**
 * DNSBL zone health. An "unknown" answer (timeout, SERVFAIL, 127.255.255.x) is
 * stored as a check error in blacklist_checks; when the last N verdicts of one
 * zone — across all servers, provisioning checks included — are all unknown,
 * the list is probably refusing our resolver, and that is worth one alert for
 * the zone rather than noise on every server. The first conclusive answer
 * resolves it.
 */
import { and, desc, eq, inArray, isNull } from 'drizzle-orm';
import type { Tx } from '../db/client.ts';
import { alerts, blacklistChecks } from '../db/schema/index.ts';
import { enqueueDeliveries } from './alert-delivery.ts';
import { zoneFailingKey } from './alert-keys.ts';
import type { OpsDeps } from './deps.ts';

export async function updateZoneHealth(deps: OpsDeps, tx: Tx, zone: string, conclusive: boolean): Promise<void> {
  if (conclusive) return resolveZones(deps, tx, [zone]);
  const key = zoneFailingKey(zone);
  const threshold = deps.settings.zoneErrorThreshold;
  const recent = await tx
    .select({ status: blacklistChecks.status, error: blacklistChecks.error })
    .from(blacklistChecks)
    .where(eq(blacklistChecks.zone, zone))
    .orderBy(desc(blacklistChecks.checkedAt))
    .limit(threshold);
  if (recent.length < threshold || recent.some((r) => r.status !== 'unknown')) return;
  const opened = await deps.alerts.open(tx, {
    kind: 'dnsbl_zone_failing',
    severity: 'warning',
    serverId: null,
    dedupeKey: key,
    message: `${zone}: the last ${threshold} queries gave no answer (is the resolver refused by the list?)`,
    details: { zone, lastErrors: [...new Set(recent.map((r) => r.error))] },
  });
  if (opened.created) await enqueueDeliveries(deps, tx, opened.id, 'opened');
}

/** Conclusive answers from these zones: their "failing" alerts are resolved, in one statement whatever their number. */
export async function resolveZones(deps: OpsDeps, tx: Tx, zones: readonly string[]): Promise<void> {
  if (zones.length === 0) return;
  const resolved = await tx
    .update(alerts)
    .set({ resolvedAt: new Date(deps.clock.now()) })
    .where(and(inArray(alerts.dedupeKey, zones.map(zoneFailingKey)), isNull(alerts.resolvedAt)))
    .returning({ id: alerts.id });
  for (const r of resolved) await enqueueDeliveries(deps, tx, r.id, 'resolved');
}
