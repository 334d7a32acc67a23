/**
 * A plan change Stripe confirmed: the subscription's item is on another plan's price (read from
 * the subscription's current state, never from the event, so a late or repeated event changes
 * nothing). Within the webhook's transaction: the subscription and server take the new plan,
 * every mailbox gets the new plan's per-mailbox quota (pushed by the mailbox sync), the owners are
 * mailed, and the change is audited. When the plan runs on another instance type or disk, the
 * `billing.resize_server` job (enqueued with this change) starts the rebuild onto it
 * (resize-server.ts): create_server reads the server's plan, so the new instance and its volume
 * are the new plan's.
 */
import { and, eq, ne, sql } from 'drizzle-orm';
import { audit, type Actor } from '../audit.ts';
import { mailboxQuotaMb, type Plan } from '../config.ts';
import type { Clock } from '../clock.ts';
import type { Tx } from '../db/client.ts';
import { mailboxes, servers, subscriptions } from '../db/schema/index.ts';
import type { JobQueue } from '../jobs/queue.ts';
import { enqueueSync } from '../mailboxes/service.ts';

type Subscription = typeof subscriptions.$inferSelect;

/** The plan a Stripe price belongs to, or null (a price mailplane does not sell: left alone). */
export const planOfPrice = (plans: readonly Plan[], priceId: string | null) => (priceId ? (plans.find((p) => p.stripePriceId === priceId) ?? null) : null);

export async function applyPlanChange(
  deps: { queue: JobQueue; clock: Clock },
  tx: Tx,
  sub: Subscription,
  plan: Plan,
  actor: Actor,
  details: Record<string, unknown>,
): Promise<string> {
  const now = new Date(deps.clock.now());
  await tx.update(subscriptions).set({ planId: plan.id, updatedAt: now }).where(eq(subscriptions.id, sub.id));
  const [server] = await tx
    .select()
    .from(servers)
    .where(and(eq(servers.subscriptionId, sub.id), ne(servers.status, 'deleted')))
    .for('update');
  await audit(tx, actor, {
    action: 'subscription.plan_changed',
    workspaceId: sub.workspaceId,
    target: server?.id ?? sub.id,
    details: { ...details, from: sub.planId, to: plan.id },
  });
  if (!server) return `plan ${sub.planId} → ${plan.id}`;
  await tx.update(servers).set({ planId: plan.id, updatedAt: now }).where(eq(servers.id, server.id));
  // The quota is the plan's per-mailbox share for every mailbox (there is no per-mailbox setting to keep).
  await tx
    .update(mailboxes)
    .set({ quotaMb: mailboxQuotaMb(plan), version: sql`${mailboxes.version} + 1`, syncStatus: 'pending', syncError: null, updatedAt: now })
    .where(and(eq(mailboxes.serverId, server.id), ne(mailboxes.state, 'deleting')));
  await enqueueSync(deps.queue, tx, server.id);
  await deps.queue.send('billing.notify', { subscriptionId: sub.id, kind: 'plan_changed' }, { tx, singletonKey: `${sub.id}:plan_changed:${now.getTime()}` });
  await deps.queue.send(
    'billing.resize_server',
    { serverId: server.id, fromPlanId: sub.planId, toPlanId: plan.id, changedAt: now.toISOString() },
    { tx, singletonKey: `${server.id}:${plan.id}:${now.getTime()}` },
  );
  return `plan ${sub.planId} → ${plan.id} for server ${server.id}`;
}
