/**
 * What a subscription's state means for its server. Called with the state
 * retrieved from Stripe when an event arrives, never with the event's own
 * snapshot: Stripe does not deliver in order and retries for days, so a
 * `past_due` that arrives after the card was fixed, or an `active` that arrives
 * after the cancellation, describes the past. Reading the subscription under
 * the row lock makes concurrent deliveries for one subscription apply in turn,
 * each with what Stripe says now.
 *
 *   active, trialing         suspended → ready (the one reinstatement path)
 *   past_due                 ready → suspended; Stripe is still retrying, nothing is deleted
 *   unpaid, canceled,        ready → suspended with a grace period (BILLING_GRACE_DAYS), then
 *   incomplete_expired       deprovisioned by the grace sweep; a server never ready is
 *                            deprovisioned at once (no mail, no data to keep)
 *
 * Besides the status: a price that is another plan's is a plan change Stripe confirmed
 * (plan-change-apply.ts), and a cancel_at_period_end that flipped (in Stripe's portal, or before
 * mailplane's own request recorded it) is mailed to the owners.
 */
import { eq } from 'drizzle-orm';
import { audit, type Actor } from '../audit.ts';
import type { Tx } from '../db/client.ts';
import { servers, subscriptions, workspaces } from '../db/schema/index.ts';
import type { JobQueue } from '../jobs/queue.ts';
import type { SubscriptionState } from '../providers/billing/interface.ts';
import { reinstateServer, startDeprovision, suspendServer } from '../servers/lifecycle.ts';
import type { Plan } from '../config.ts';
import { applyPlanChange, planOfPrice } from './plan-change-apply.ts';
import type { Clock } from '../clock.ts';

type Subscription = typeof subscriptions.$inferSelect;

export interface ApplyDeps {
  queue: JobQueue;
  graceMs: number;
  /** When the grace period starts, what the rows are stamped with, what the notices are keyed by. */
  clock: Clock;
  /** The plans sold: a subscription whose price became another plan's has changed plan (plan-change-apply.ts). */
  plans?: readonly Plan[];
}

const ENDED = new Set(['unpaid', 'canceled', 'incomplete_expired']);
const PAYING = new Set(['active', 'trialing']);
/** Statuses of a server that never served mail: nothing to keep through a grace period. */
const NOT_YET_SERVING = new Set(['provisioning', 'waiting', 'failed']);

export const PAST_DUE_REASON = 'Payment failed: update your payment method in Billing to keep the server';
const endedReason = (until: Date) =>
  `Subscription ended: the server and its mail are kept until ${until.toISOString().slice(0, 10)}, then deleted; pay in Billing to keep it`;

/** Applies Stripe's current state to the locked subscription row and its server; returns what happened. */
export async function applySubscriptionState(
  deps: ApplyDeps,
  tx: Tx,
  sub: Subscription,
  current: SubscriptionState,
  actor: Actor,
  details: Record<string, unknown>,
): Promise<string> {
  const now = new Date(deps.clock.now());
  const ended = ENDED.has(current.status);
  const graceEndsAt = ended ? (sub.graceEndsAt ?? new Date(now.getTime() + deps.graceMs)) : null;
  await tx
    .update(subscriptions)
    .set({
      status: current.status,
      currentPeriodEnd: current.currentPeriodEnd,
      cancelAtPeriodEnd: current.cancelAtPeriodEnd,
      graceEndsAt,
      updatedAt: now,
    })
    .where(eq(subscriptions.id, sub.id));
  // An erasure cancels the subscription itself and deprovisions: no suspension, no mail naming the domain.
  const [ws] = await tx.select({ erasing: workspaces.erasureRequestedAt }).from(workspaces).where(eq(workspaces.id, sub.workspaceId));
  if (ws?.erasing) return `subscription ${current.status} (workspace being erased)`;
  // A cancellation at the period end made (or taken back) in Stripe's portal: the owners are told, as
  // when it is made in mailplane (server-subscription.ts mails it when it records the change first).
  if (current.cancelAtPeriodEnd !== sub.cancelAtPeriodEnd && (PAYING.has(current.status) || current.status === 'past_due')) {
    const kind = current.cancelAtPeriodEnd ? 'cancellation_scheduled' : 'cancellation_undone';
    await deps.queue.send('billing.notify', { subscriptionId: sub.id, kind }, { tx, singletonKey: `${sub.id}:${kind}:${now.getTime()}` });
  }
  const plan = planOfPrice(deps.plans ?? [], current.priceId);
  if (plan && plan.id !== sub.planId && !ENDED.has(current.status)) {
    const changed = await applyPlanChange(deps, tx, sub, plan, actor, details);
    return `${changed}; ${await applyToServer()}`;
  }
  return applyToServer();

  async function applyToServer(): Promise<string> {
    const notify = (kind: 'payment_failed' | 'suspended' | 'reinstated') =>
      deps.queue.send('billing.notify', { subscriptionId: sub.id, kind }, { tx, singletonKey: `${sub.id}:${kind}:${now.getTime()}` });

    const [server] = await tx.select().from(servers).where(eq(servers.subscriptionId, sub.id)).for('update');
    if (!server || server.status === 'deleted' || server.status === 'deprovisioning') return `subscription ${current.status}`;

    if (PAYING.has(current.status)) {
      if (!(await reinstateServer(deps, tx, server, actor, { ...details, status: current.status }))) return `subscription ${current.status}`;
      await notify('reinstated');
      return `server ${server.id} reinstated`;
    }
    if (current.status === 'past_due') {
      // Mailed once per failure: when the subscription turns past_due, not at every event after.
      if (sub.status !== 'past_due') await notify('payment_failed');
      const suspended = await suspendServer(deps, tx, server, actor, PAST_DUE_REASON, { ...details, status: current.status });
      return suspended ? `server ${server.id} suspended (past_due)` : 'subscription past_due';
    }
    if (!ended) return `subscription ${current.status}`;

    if (NOT_YET_SERVING.has(server.status)) {
      await startDeprovision(deps, tx, server, actor, `Subscription ${current.status}`, details);
      return `deprovisioning server ${server.id} (never served mail)`;
    }
    const reason = endedReason(graceEndsAt!);
    if (server.status === 'ready') {
      await suspendServer(deps, tx, server, actor, reason, { ...details, status: current.status, graceEndsAt });
    } else if (server.statusReason !== reason) {
      // Already suspended (past_due): the reason now says when the data goes.
      await tx.update(servers).set({ statusReason: reason, updatedAt: now }).where(eq(servers.id, server.id));
    }
    if (!sub.graceEndsAt) {
      await notify('suspended');
      await audit(tx, actor, {
        action: 'subscription.grace_started',
        workspaceId: sub.workspaceId,
        target: server.id,
        details: { ...details, status: current.status, graceEndsAt },
      });
    }
    return `server ${server.id} suspended until ${graceEndsAt!.toISOString()} (${current.status})`;
  }
}
