/**
 * Ops alerts. Opening is idempotent per dedupe key while the alert is open
 * (a partial unique index), so the same listing seen twice opens one alert.
 */
import { and, eq, isNull, sql } from 'drizzle-orm';
import type { DbOrTx } from '../src/db/client.ts';
import { alerts } from '../src/db/schema/index.ts';

export interface AlertInput {
  kind: string;
  severity: 'info' | 'warning' | 'critical';
  serverId: string | null;
  dedupeKey: string;
  message: string;
  details?: Record<string, unknown>;
}

export interface AlertSink {
  open(db: DbOrTx, alert: AlertInput): Promise<{ id: string; created: boolean }>;
  resolve(db: DbOrTx, dedupeKey: string): Promise<boolean>;
}

export function createAlertStore(): AlertSink {
  return {
    async open(db, a) {
      const [created] = await db
        .insert(alerts)
        .values({
          kind: a.kind,
          severity: a.severity,
          serverId: a.serverId,
          dedupeKey: a.dedupeKey,
          message: a.message,
          details: a.details ?? {},
        })
        .onConflictDoNothing({ target: alerts.dedupeKey, where: sql`resolved_at is null` })
        .returning({ id: alerts.id });
      if (created) return { id: created.id, created: true };
      const [existing] = await db
        .select({ id: alerts.id })
        .from(alerts)
        .where(and(eq(alerts.dedupeKey, a.dedupeKey), isNull(alerts.resolvedAt)))
        .limit(1);
      return { id: existing!.id, created: false };
    },
    async resolve(db, dedupeKey) {
      const rows = await db
        .update(alerts)
        .set({ resolvedAt: new Date() })
        .where(and(eq(alerts.dedupeKey, dedupeKey), isNull(alerts.resolvedAt)))
        .returning({ id: alerts.id });
      return rows.length > 0;
    },
  };
}
