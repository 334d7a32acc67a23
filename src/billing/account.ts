/**
 * What the customer sees of their billing, and the way into Stripe's customer
 * portal. The overview is mailplane's own record (kept current from Stripe by
 * the webhook, which retrieves each subscription); the portal session is made
 * when the person asks for it, since its URL is short-lived, and it returns to
 * mailplane's billing page only (no caller-chosen return URL: no open redirect).
 */
import { and, desc, eq, isNotNull, ne } from 'drizzle-orm';
import { audit, type Actor } from '../audit.ts';
import type { Config } from '../config.ts';
import type { Db } from '../db/client.ts';
import { servers, subscriptions } from '../db/schema/index.ts';
import { ConflictError, NotFoundError } from '../errors.ts';
import type { BillingProvider } from '../providers/billing/interface.ts';

export interface BillingLine {
  subscriptionId: string;
  serverId: string | null;
  domain: string | null;
  serverStatus: string | null;
  plan: { id: string; name: string; monthlyPriceCents: number | null; currency: string };
  status: string;
  /** The next invoice (the end of the period), unless the subscription ends then or has ended. */
  nextInvoiceAt: string | null;
  cancelAtPeriodEnd: boolean;
  /** The end of the current period: the next invoice, or the day a cancelled subscription ends. */
  periodEndsAt: string | null;
  /** Set while the server of an ended subscription is kept: it is deleted after this. */
  graceEndsAt: string | null;
}

export async function billingOverview(db: Db, config: Config, workspaceId: string): Promise<BillingLine[]> {
  const rows = await db
    .select({ sub: subscriptions, serverId: servers.id, domain: servers.domain, serverStatus: servers.status })
    .from(subscriptions)
    .leftJoin(servers, eq(servers.subscriptionId, subscriptions.id))
    .where(and(eq(subscriptions.workspaceId, workspaceId), isNotNull(subscriptions.stripeSubscriptionId), ne(subscriptions.status, 'incomplete_expired')))
    .orderBy(desc(subscriptions.createdAt));
  return rows
    .filter((r) => r.serverStatus !== 'deleted')
    .map(({ sub, serverId, domain, serverStatus }) => {
      const plan = config.product.plans.find((p) => p.id === sub.planId);
      const renews = (sub.status === 'active' || sub.status === 'trialing' || sub.status === 'past_due') && !sub.cancelAtPeriodEnd;
      return {
        subscriptionId: sub.id,
        serverId,
        domain,
        serverStatus,
        plan: { id: sub.planId, name: plan?.name ?? sub.planId, monthlyPriceCents: plan?.monthlyPriceCents ?? null, currency: plan?.currency ?? 'eur' },
        status: sub.status,
        nextInvoiceAt: renews && sub.currentPeriodEnd ? sub.currentPeriodEnd.toISOString() : null,
        cancelAtPeriodEnd: sub.cancelAtPeriodEnd,
        periodEndsAt: sub.currentPeriodEnd?.toISOString() ?? null,
        graceEndsAt: sub.graceEndsAt?.toISOString() ?? null,
      };
    });
}

export interface PortalDeps {
  db: Db;
  billing: BillingProvider;
  publicUrl: string;
}

/** A portal session for the workspace's subscription (the latest one when none is named). */
export async function openBillingPortal(deps: PortalDeps, actor: Actor, workspaceId: string, subscriptionId?: string): Promise<{ url: string }> {
  const [sub] = await deps.db
    .select()
    .from(subscriptions)
    .where(
      and(
        eq(subscriptions.workspaceId, workspaceId),
        isNotNull(subscriptions.stripeCustomerId),
        ...(subscriptionId ? [eq(subscriptions.id, subscriptionId)] : []),
      ),
    )
    .orderBy(desc(subscriptions.createdAt))
    .limit(1);
  if (!sub) {
    if (subscriptionId) throw new NotFoundError('Subscription');
    throw new ConflictError('This workspace has no subscription yet: subscribe to a server first', 'no_subscription');
  }
  const session = await deps.billing.createPortalSession({ customerId: sub.stripeCustomerId!, returnUrl: `${deps.publicUrl}/w/${workspaceId}/billing` });
  await audit(deps.db, actor, { action: 'billing.portal_opened', workspaceId, target: sub.id });
  return session;
}
