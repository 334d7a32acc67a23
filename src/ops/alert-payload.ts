/** The JSON an alert event is delivered as (webhook body; the email is rendered from it). */
import type { alerts } from '../db/schema/index.ts';

export type AlertRow = typeof alerts.$inferSelect;

export interface AlertPayload {
  deliveryId: string;
  event: 'alert.opened' | 'alert.resolved';
  alert: {
    id: string;
    kind: string;
    severity: AlertRow['severity'];
    serverId: string | null;
    message: string;
    details: Record<string, unknown>;
    openedAt: string;
    acknowledgedAt: string | null;
    resolvedAt: string | null;
  };
}

export function alertView(a: AlertRow): AlertPayload['alert'] & { status: 'open' | 'acknowledged' | 'resolved'; acknowledgedBy: string | null } {
  return {
    id: a.id,
    kind: a.kind,
    severity: a.severity,
    serverId: a.serverId,
    message: a.message,
    details: a.details,
    status: a.resolvedAt ? 'resolved' : a.acknowledgedAt ? 'acknowledged' : 'open',
    openedAt: a.openedAt.toISOString(),
    acknowledgedAt: a.acknowledgedAt?.toISOString() ?? null,
    acknowledgedBy: a.acknowledgedBy,
    resolvedAt: a.resolvedAt?.toISOString() ?? null,
  };
}

export function alertPayload(deliveryId: string, event: 'opened' | 'resolved', a: AlertRow): AlertPayload {
  const { status: _status, acknowledgedBy: _by, ...alert } = alertView(a);
  return { deliveryId, event: event === 'opened' ? 'alert.opened' : 'alert.resolved', alert };
}
