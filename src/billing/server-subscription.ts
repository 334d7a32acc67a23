/**
 * Cancelling one server (and taking that back). The owner types the server's domain to confirm;
 * Stripe is asked to end the subscription at the end of the period paid for
 * (`cancel_at_period_end`), so the server keeps serving until then. When the period ends Stripe
 * sends `customer.subscription.deleted` and the grace-period path of subscription-state.ts applies
 * (suspended, kept BILLING_GRACE_DAYS with its final backup, then deprovisioned). Until the period
 * ends, the owner can undo it. Stripe is called first: if it refuses or cannot be reached, nothing
 * here changes; the webhook that follows applies the same state again (it retrieves it).
 */
import { eq } from 'drizzle-orm';
import { audit, type Actor } from '../audit.ts';
import type { Clock } from '../clock.ts';
import type { Database, Db } from '../db/client.ts';
import { subscriptions } from '../db/schema/index.ts';
import { ConflictError, ValidationError } from '../errors.ts';
import type { JobQueue } from '../jobs/queue.ts';
import type { BillingProvider, SubscriptionState } from '../providers/billing/interface.ts';
import { findServer, type ServerRow } from '../servers/views.ts';
import type { WorkspaceAccess } from '../workspaces/access.ts';

export interface ServerBillingDeps {
  database: Database;
  billing: BillingProvider;
  queue: JobQueue;
  clock: Clock;
}

type Subscription = typeof subscriptions.$inferSelect;
/** Statuses in which Stripe still bills: a scheduled cancellation or a plan change makes sense. */
export const RUNNING_SUBSCRIPTION = new Set(['active', 'trialing', 'past_due']);

/** The server (of this workspace) and its Stripe subscription; a server that is gone is not found. */
export async function serverSubscription(db: Db, workspaceId: string, serverId: string): Promise<{ server: ServerRow; sub: Subscription; stripeId: string }> {
  const server = await findServer(db, serverId, workspaceId);
  if (server.status === 'deleted' || server.status === 'deprovisioning') throw new ConflictError(`The server is ${server.status}`, 'server_gone');
  const [sub] = server.subscriptionId ? await db.select().from(subscriptions).where(eq(subscriptions.id, server.subscriptionId)) : [];
  if (!sub?.stripeSubscriptionId) throw new ConflictError('This server has no Stripe subscription', 'no_subscription');
  return { server, sub, stripeId: sub.stripeSubscriptionId };
}

export interface CancellationView {
  subscriptionId: string;
  cancelAtPeriodEnd: boolean;
  /** When the subscription ends (with a cancellation) or renews (without). */
  periodEndsAt: string | null;
}

async function record(
  deps: ServerBillingDeps,
  actor: Actor,
  server: ServerRow,
  sub: Subscription,
  state: SubscriptionState,
  action: 'subscription.cancel_scheduled' | 'subscription.cancel_undone',
  kind: 'cancellation_scheduled' | 'cancellation_undone',
): Promise<CancellationView> {
  const now = deps.clock.now();
  await deps.database.db.transaction(async (tx) => {
    // Under the row lock the webhook takes too: whichever of the two records the change first mails
    // the owners (a cancellation made in Stripe's portal reaches mailplane by the webhook alone).
    const [row] = await tx.select({ was: subscriptions.cancelAtPeriodEnd }).from(subscriptions).where(eq(subscriptions.id, sub.id)).for('update');
    await tx
      .update(subscriptions)
      .set({ cancelAtPeriodEnd: state.cancelAtPeriodEnd, currentPeriodEnd: state.currentPeriodEnd, updatedAt: new Date(now) })
      .where(eq(subscriptions.id, sub.id));
    await audit(tx, actor, {
      action,
      workspaceId: server.workspaceId,
      target: server.id,
      details: { subscriptionId: sub.id, domain: server.domain, periodEnd: state.currentPeriodEnd?.toISOString() ?? null },
    });
    if (row?.was !== state.cancelAtPeriodEnd) {
      await deps.queue.send('billing.notify', { subscriptionId: sub.id, kind }, { tx, singletonKey: `${sub.id}:${kind}:${now}` });
    }
  });
  return { subscriptionId: sub.id, cancelAtPeriodEnd: state.cancelAtPeriodEnd, periodEndsAt: state.currentPeriodEnd?.toISOString() ?? null };
}

export async function cancelServer(
  deps: ServerBillingDeps,
  actor: Actor,
  access: WorkspaceAccess,
  serverId: string,
  confirmDomain: string,
): Promise<CancellationView> {
  const { server, sub, stripeId } = await serverSubscription(deps.database.db, access.workspaceId, serverId);
  // Typed by hand, as on the dashboard: a script with a wrong id cannot end a server by accident.
  if (confirmDomain.trim().toLowerCase() !== server.domain) {
    throw new ValidationError("The confirmation does not match the server's domain name", {
      errors: [{ path: 'json.confirmDomain', message: `type the server's domain name, ${server.domain}` }],
    });
  }
  if (!RUNNING_SUBSCRIPTION.has(sub.status)) throw new ConflictError(`The subscription has already ended (${sub.status})`, 'subscription_ended');
  if (sub.cancelAtPeriodEnd) throw new ConflictError('This server is already cancelled at the end of its period', 'already_cancelled');
  const state = await deps.billing.setCancelAtPeriodEnd(stripeId, true);
  return record(deps, actor, server, sub, state, 'subscription.cancel_scheduled', 'cancellation_scheduled');
}

export async function undoCancellation(deps: ServerBillingDeps, actor: Actor, access: WorkspaceAccess, serverId: string): Promise<CancellationView> {
  const { server, sub, stripeId } = await serverSubscription(deps.database.db, access.workspaceId, serverId);
  if (!RUNNING_SUBSCRIPTION.has(sub.status)) {
    throw new ConflictError(
      `The subscription has already ended (${sub.status}): Stripe cannot restart it; subscribe again to keep the domain's mail`,
      'subscription_ended',
    );
  }
  if (!sub.cancelAtPeriodEnd) throw new ConflictError('This server is not cancelled', 'not_cancelled');
  const state = await deps.billing.setCancelAtPeriodEnd(stripeId, false);
  return record(deps, actor, server, sub, state, 'subscription.cancel_undone', 'cancellation_undone');
}

/** For the server page: whether the server's subscription ends at the end of its period, and when. */
export async function cancellationOf(db: Db, server: Pick<ServerRow, 'subscriptionId'>): Promise<{ endsAt: Date | null } | null> {
  const [sub] = server.subscriptionId ? await db.select().from(subscriptions).where(eq(subscriptions.id, server.subscriptionId)) : [];
  return sub?.cancelAtPeriodEnd && RUNNING_SUBSCRIPTION.has(sub.status) ? { endsAt: sub.currentPeriodEnd } : null;
}
