/**
 * Getting alerts to people. The alert row is the source of truth; each event
 * (opened, resolved) on each configured channel (webhook, email) becomes one
 * `alert_deliveries` row and a pg-boss job. A failed send is retried by the
 * handler with exponential backoff as a new delayed job, so the schedule
 * survives restarts; after the last attempt the row stays `failed` and the
 * alert is still listed by the API — a failure to deliver never loses it.
 *
 * Two paths create deliveries: the code that opens an alert (immediately), and
 * a per-minute outbox sweep that catches alerts opened or resolved anywhere
 * else (provisioning, rotations, the API). The unique (alert, channel, event)
 * key makes both safe to run together.
 *
 * Each attempt holds the delivery row locked (FOR UPDATE SKIP LOCKED) while it
 * sends, so a duplicated job cannot send twice at once. A crash between a
 * successful send and the commit sends again: at least once, deduplicated by
 * the receiver through X-Mailplane-Delivery.
 */
import { and, eq, sql } from 'drizzle-orm';
import { backoffMs } from '../../provisioning/backoff.ts';
import type { DbOrTx } from '../db/client.ts';
import { alertDeliveries, alerts } from '../db/schema/index.ts';
import { inTransaction, type RawTx } from '../db/tx.ts';
import type { JobQueue } from '../jobs/queue.ts';
import { sendAlertEmail } from './alert-email.ts';
import { alertPayload } from './alert-payload.ts';
import type { OpsDeps, OpsSettings } from './deps.ts';
import { postWebhook } from './webhook.ts';

type Channel = 'webhook' | 'email';
type AlertEvent = 'opened' | 'resolved';

/** How far back the outbox looks: enabling a channel later does not replay months of history. */
const OUTBOX_WINDOW = sql`interval '24 hours'`;

export function channelsOf(settings: OpsSettings): Channel[] {
  return [...(settings.webhook ? ['webhook' as const] : []), ...(settings.email ? ['email' as const] : [])];
}

async function sendJobs(queue: JobQueue, raw: RawTx, ids: string[]): Promise<void> {
  for (const id of ids) await queue.send('ops.alert_delivery', { deliveryId: id }, { tx: raw, singletonKey: `${id}:1` });
}

/** Deliveries for one alert event, in the caller's transaction (the alert and its jobs commit together). */
export async function enqueueDeliveries(deps: Pick<OpsDeps, 'queue' | 'settings'>, tx: DbOrTx, raw: RawTx, alertId: string, event: AlertEvent): Promise<number> {
  const channels = channelsOf(deps.settings);
  if (channels.length === 0) return 0;
  const rows = await tx.insert(alertDeliveries).values(channels.map((channel) => ({ alertId, channel, event })))
    .onConflictDoNothing().returning({ id: alertDeliveries.id });
  await sendJobs(deps.queue, raw, rows.map((r) => r.id));
  return rows.length;
}

/** Deliveries for every recent alert event that has none yet on a configured channel. */
export async function sweepOutbox(deps: Pick<OpsDeps, 'database' | 'queue' | 'settings'>): Promise<number> {
  const channels = channelsOf(deps.settings);
  if (channels.length === 0) return 0;
  return inTransaction(deps.database, async (tx, raw) => {
    const list = sql.raw(`array[${channels.map((c) => `'${c}'`).join(',')}]::text[]`);
    const created = await tx.execute<{ id: string }>(sql`
      insert into alert_deliveries (alert_id, channel, event)
      select a.id, ch.channel, e.event
      from alerts a
      cross join unnest(${list}) as ch(channel)
      cross join lateral (
        select 'opened' as event where a.opened_at > now() - ${OUTBOX_WINDOW}
        union all
        select 'resolved' where a.resolved_at > now() - ${OUTBOX_WINDOW}
      ) e
      on conflict do nothing
      returning id`);
    const ids = [...created].map((r) => r.id);
    await sendJobs(deps.queue, raw, ids);
    return ids.length;
  });
}

/** One attempt of one delivery (the `ops.alert_delivery` job). */
export async function deliverAlert(deps: Pick<OpsDeps, 'database' | 'queue' | 'settings' | 'clock' | 'log'>, deliveryId: string): Promise<void> {
  await inTransaction(deps.database, async (tx, raw) => {
    const [row] = await tx.select().from(alertDeliveries).where(eq(alertDeliveries.id, deliveryId)).for('update', { skipLocked: true });
    if (row?.status !== 'pending') return; // done already, or another worker holds it right now
    const [alert] = await tx.select().from(alerts).where(eq(alerts.id, row.alertId));
    if (!alert) return;
    const attempt = row.attempts + 1;
    const payload = alertPayload(row.id, row.event, alert);
    const now = deps.clock.now();
    try {
      if (row.channel === 'webhook') {
        if (!deps.settings.webhook) throw new Error('the alert webhook is no longer configured');
        await postWebhook(deps.settings.webhook, row.id, JSON.stringify(payload), now);
      } else {
        if (!deps.settings.email) throw new Error('alert email is no longer configured');
        await sendAlertEmail(deps.settings.email, row.id, payload);
      }
      await tx.update(alertDeliveries).set({ status: 'delivered', attempts: attempt, deliveredAt: new Date(deps.clock.now()), lastError: null, nextAttemptAt: null })
        .where(eq(alertDeliveries.id, row.id));
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      const { retryBaseMs, retryMaxMs, maxAttempts } = deps.settings.delivery;
      if (attempt >= maxAttempts) {
        await tx.update(alertDeliveries).set({ status: 'failed', attempts: attempt, lastError: message, nextAttemptAt: null }).where(eq(alertDeliveries.id, row.id));
        deps.log.error({ deliveryId: row.id, alertId: alert.id, channel: row.channel, attempts: attempt, error: message }, 'alert delivery gave up');
        return;
      }
      const delay = backoffMs(attempt, { baseMs: retryBaseMs, maxMs: retryMaxMs });
      await tx.update(alertDeliveries).set({ attempts: attempt, lastError: message, nextAttemptAt: new Date(now + delay) })
        .where(and(eq(alertDeliveries.id, row.id), eq(alertDeliveries.status, 'pending')));
      await deps.queue.send('ops.alert_delivery', { deliveryId: row.id }, { tx: raw, startAfterSeconds: delay / 1000, singletonKey: `${row.id}:${attempt + 1}` });
      deps.log.warn({ deliveryId: row.id, channel: row.channel, attempt, retryInMs: delay, error: message }, 'alert delivery failed; will retry');
    }
  });
}
