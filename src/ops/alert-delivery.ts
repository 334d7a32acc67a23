/**
 * Getting alerts to people. The alert row is the source of truth; each event
 * (opened, resolved) on each configured channel (webhook, email) becomes one
 * `alert_deliveries` row and a pg-boss job. A failed send is recorded on the
 * row and retried by the queue's policy (src/jobs/catalog.ts: exponential
 * backoff, a delayed job, so the schedule survives restarts); when the last
 * attempt fails the row is marked `failed` (deliveryFailed, the dead letter
 * handler) and the alert is still listed by the API — a failure to deliver
 * never loses it.
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
import type { RetryPolicy } from '../jobs/catalog.ts';
import { GiveUp } from '../jobs/give-up.ts';
import type { Tx } from '../db/client.ts';
import { alertDeliveries, alerts } from '../db/schema/index.ts';
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

async function sendJobs(queue: JobQueue, tx: Tx, ids: string[]): Promise<void> {
  for (const id of ids) await queue.send('ops.alert_delivery', { deliveryId: id }, { tx, singletonKey: id });
}

/**
 * The `ops.alert_delivery` queue's retry policy from ALERT_RETRY_BASE_MS, ALERT_RETRY_MAX_MS and
 * ALERT_MAX_ATTEMPTS (pg-boss counts whole seconds, and retries after the first attempt).
 */
export function alertDeliveryPolicy(delivery: OpsSettings['delivery']): RetryPolicy {
  const retryDelay = Math.max(1, Math.round(delivery.retryBaseMs / 1000));
  return { retryLimit: delivery.maxAttempts - 1, retryDelay, retryBackoff: true, retryDelayMax: Math.max(retryDelay, Math.ceil(delivery.retryMaxMs / 1000)) };
}

/** Deliveries for one alert event, in the caller's transaction (the alert and its jobs commit together). */
export async function enqueueDeliveries(deps: Pick<OpsDeps, 'queue' | 'settings'>, tx: Tx, alertId: string, event: AlertEvent): Promise<number> {
  const channels = channelsOf(deps.settings);
  if (channels.length === 0) return 0;
  const rows = await tx
    .insert(alertDeliveries)
    .values(channels.map((channel) => ({ alertId, channel, event })))
    .onConflictDoNothing()
    .returning({ id: alertDeliveries.id });
  await sendJobs(
    deps.queue,
    tx,
    rows.map((r) => r.id),
  );
  return rows.length;
}

/** Deliveries for every recent alert event that has none yet on a configured channel. */
export async function sweepOutbox(deps: Pick<OpsDeps, 'database' | 'queue' | 'settings'>): Promise<number> {
  const channels = channelsOf(deps.settings);
  if (channels.length === 0) return 0;
  return deps.database.db.transaction(async (tx) => {
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
    await sendJobs(deps.queue, tx, ids);
    return ids.length;
  });
}

/**
 * One attempt of one delivery (the `ops.alert_delivery` job). A failed send is recorded (attempts,
 * last error) and thrown, so the queue retries it; a channel no longer configured gives up at once.
 */
export async function deliverAlert(deps: Pick<OpsDeps, 'database' | 'settings' | 'clock' | 'log'>, deliveryId: string): Promise<void> {
  const failure = await deps.database.db.transaction(async (tx) => {
    const [row] = await tx.select().from(alertDeliveries).where(eq(alertDeliveries.id, deliveryId)).for('update', { skipLocked: true });
    if (row?.status !== 'pending') return null; // done already, or another worker holds it right now
    const [alert] = await tx.select().from(alerts).where(eq(alerts.id, row.alertId));
    if (!alert) return null;
    const attempt = row.attempts + 1;
    const payload = alertPayload(row.id, row.event, alert);
    try {
      if (row.channel === 'webhook') {
        if (!deps.settings.webhook) throw new GiveUp('the alert webhook is no longer configured');
        await postWebhook(deps.settings.webhook, row.id, JSON.stringify(payload), deps.clock.now());
      } else {
        if (!deps.settings.email) throw new GiveUp('alert email is no longer configured');
        await sendAlertEmail(deps.settings.email, row.id, payload);
      }
      await tx
        .update(alertDeliveries)
        .set({ status: 'delivered', attempts: attempt, deliveredAt: new Date(deps.clock.now()), lastError: null, nextAttemptAt: null })
        .where(eq(alertDeliveries.id, row.id));
      return null;
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      // The attempt is recorded (committed) before the job fails; when the next one runs is pg-boss's.
      await tx
        .update(alertDeliveries)
        .set({ attempts: attempt, lastError: message, nextAttemptAt: null })
        .where(and(eq(alertDeliveries.id, row.id), eq(alertDeliveries.status, 'pending')));
      deps.log.warn({ deliveryId: row.id, channel: row.channel, attempt, error: message }, 'alert delivery failed');
      return err;
    }
  });
  if (failure) throw failure;
}

/** The `ops.alert_delivery_failed` job: the delivery's last attempt failed (or it gave up): the row says so for good. */
export async function deliveryFailed(deps: Pick<OpsDeps, 'database' | 'log'>, deliveryId: string, failed: { error: string; attempts: number }): Promise<void> {
  const [row] = await deps.database.db
    .update(alertDeliveries)
    .set({ status: 'failed', lastError: failed.error, nextAttemptAt: null })
    .where(and(eq(alertDeliveries.id, deliveryId), eq(alertDeliveries.status, 'pending')))
    .returning({ alertId: alertDeliveries.alertId, channel: alertDeliveries.channel, attempts: alertDeliveries.attempts });
  if (row) deps.log.error({ deliveryId, alertId: row.alertId, channel: row.channel, attempts: row.attempts, error: failed.error }, 'alert delivery gave up');
}
