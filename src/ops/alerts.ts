/** Reading and handling alerts (API and CLI): list with filters, acknowledge, resolve. Audited. */
import { and, desc, eq, isNotNull, isNull, type SQL } from 'drizzle-orm';
import { audit, type Actor } from '../audit.ts';
import type { Db, DbOrTx } from '../db/client.ts';
import { alerts } from '../db/schema/index.ts';
import { ConflictError, NotFoundError } from '../errors.ts';
import { enqueueDeliveries } from './alert-delivery.ts';
import { alertView } from './alert-payload.ts';
import type { OpsDeps } from './deps.ts';

export const ALERT_STATUSES = ['open', 'acknowledged', 'resolved'] as const;
export type AlertStatus = (typeof ALERT_STATUSES)[number];

export interface AlertFilter {
  status?: AlertStatus;
  kind?: string;
  serverId?: string;
  limit?: number;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export async function listAlerts(db: Db, filter: AlertFilter = {}) {
  const conds: SQL[] = [];
  // "open" means nobody has taken it yet; acknowledged alerts are still unresolved but owned.
  if (filter.status === 'open') conds.push(isNull(alerts.resolvedAt), isNull(alerts.acknowledgedAt));
  if (filter.status === 'acknowledged') conds.push(isNull(alerts.resolvedAt), isNotNull(alerts.acknowledgedAt));
  if (filter.status === 'resolved') conds.push(isNotNull(alerts.resolvedAt));
  if (filter.kind) conds.push(eq(alerts.kind, filter.kind));
  if (filter.serverId) {
    if (!UUID.test(filter.serverId)) return [];
    conds.push(eq(alerts.serverId, filter.serverId));
  }
  const rows = await db
    .select()
    .from(alerts)
    .where(and(...conds))
    .orderBy(desc(alerts.openedAt))
    .limit(filter.limit ?? 100);
  return rows.map(alertView);
}

async function locked(tx: DbOrTx, id: string) {
  if (!UUID.test(id)) throw new NotFoundError('Alert');
  const [row] = await tx.select().from(alerts).where(eq(alerts.id, id)).for('update');
  if (!row) throw new NotFoundError('Alert');
  if (row.resolvedAt) throw new ConflictError('The alert is resolved already', 'alert_resolved');
  return row;
}

export async function acknowledgeAlert(deps: Pick<OpsDeps, 'database' | 'clock'>, actor: Actor, id: string) {
  return deps.database.db.transaction(async (tx) => {
    const row = await locked(tx, id);
    if (row.acknowledgedAt) return alertView(row);
    const [updated] = await tx
      .update(alerts)
      .set({ acknowledgedAt: new Date(deps.clock.now()), acknowledgedBy: actor.id })
      .where(eq(alerts.id, id))
      .returning();
    await audit(tx, actor, { action: 'alert.acknowledge', target: id, details: { kind: row.kind } });
    return alertView(updated!);
  });
}

/**
 * Resolving by hand closes this alert; if the condition is still there (a
 * listing, an orphan), the next check opens a new one.
 */
export async function resolveAlert(deps: Pick<OpsDeps, 'database' | 'clock' | 'queue' | 'settings'>, actor: Actor, id: string) {
  return deps.database.db.transaction(async (tx) => {
    const row = await locked(tx, id);
    const [updated] = await tx
      .update(alerts)
      .set({ resolvedAt: new Date(deps.clock.now()) })
      .where(eq(alerts.id, id))
      .returning();
    await audit(tx, actor, { action: 'alert.resolve', target: id, details: { kind: row.kind } });
    await enqueueDeliveries(deps, tx, id, 'resolved');
    return alertView(updated!);
  });
}
