/**
 * Checkout: everything is validated before Stripe is called (plan, zone,
 * domain free), the pending checkout is stored, then Stripe's hosted page URL
 * is returned. This is the one request that calls a provider synchronously:
 * the customer is waiting for that URL.
 */
import { and, desc, eq, gt, inArray, isNotNull, or } from 'drizzle-orm';
import { audit, type Actor } from '../audit.ts';
import type { Config } from '../config.ts';
import type { Db } from '../db/client.ts';
import { checkouts, subscriptions } from '../db/schema/index.ts';
import { assertEmailVerified } from '../accounts/email-verified.ts';
import { assertNoErasureScheduled } from '../workspaces/erasure-scheduled.ts';
import { ConflictError, ValidationError } from '../errors.ts';
import type { BillingProvider } from '../providers/billing/interface.ts';
import { assertDomainClaimable } from '../servers/domain-claims.ts';
import { assertDomainAllowed } from './domain-policy.ts';
import { refusalText, type Placements } from '../servers/placement.ts';
import type { WorkspaceAccess } from '../workspaces/access.ts';

export interface CheckoutDeps {
  db: Db;
  billing: BillingProvider;
  config: Config;
  /** Which zones sell the plan's instance types (Scaleway's catalogue). */
  placements: Placements;
}

/** A Stripe Checkout Session can be paid for 24 hours. */
const SESSION_LIFETIME_MS = 24 * 3600_000;

/**
 * One paid subscription per domain: a checkout still payable for the same domain
 * (pending within Stripe's 24 hours, or paid by a debit still settling) blocks a
 * new one, so nobody pays twice for a server that can exist once. The same
 * workspace starting over replaces its own open checkout: that session is
 * expired at Stripe first, so it can no longer be paid.
 */
async function settleEarlierCheckouts(deps: CheckoutDeps, workspaceId: string, domain: string): Promise<void> {
  const live = await deps.db
    .select()
    .from(checkouts)
    .where(
      and(
        eq(checkouts.domain, domain),
        or(eq(checkouts.status, 'awaiting_payment'), and(eq(checkouts.status, 'pending'), gt(checkouts.createdAt, new Date(Date.now() - SESSION_LIFETIME_MS)))),
      ),
    );
  for (const earlier of live) {
    if (earlier.workspaceId !== workspaceId) throw new ConflictError(`A checkout for ${domain} is already in progress`, 'domain_taken');
    if (earlier.status === 'awaiting_payment')
      throw new ConflictError(`A payment for ${domain} is on its way (bank debit); wait for it to settle`, 'payment_pending');
  }
  const mine = live.filter((c) => c.status === 'pending');
  for (const earlier of mine) if (earlier.stripeSessionId) await deps.billing.expireCheckoutSession(earlier.stripeSessionId);
  if (mine.length > 0)
    await deps.db
      .update(checkouts)
      .set({ status: 'expired' })
      .where(
        inArray(
          checkouts.id,
          mine.map((c) => c.id),
        ),
      );
}

export async function startCheckout(
  deps: CheckoutDeps,
  actor: Actor,
  access: WorkspaceAccess,
  userId: string,
  input: { plan: string; region: string; domain: string },
): Promise<{ checkoutId: string; sessionId: string; checkoutUrl: string }> {
  // First: the server's mail (ready, action needed) goes to this address.
  const { email } = await assertEmailVerified(deps.db, userId, 'paying for a mail server');
  await assertNoErasureScheduled(deps.db, access.workspaceId, 'a new checkout');
  const plan = deps.config.product.plans.find((p) => p.id === input.plan);
  if (!plan) throw new ValidationError(`Unknown plan "${input.plan}"`, { errors: [{ path: 'json.plan', message: 'unknown plan' }] });
  if (!deps.config.product.zones.includes(input.region)) {
    throw new ValidationError(`Region "${input.region}" is not offered`, {
      errors: [{ path: 'json.region', message: `one of ${deps.config.product.zones.join(', ')}` }],
    });
  }
  assertDomainAllowed(deps.config, input.domain);
  // Never take money for a server the zone cannot run: the plan's type must be sold (and in stock) there.
  const placed = await deps.placements.typeFor(plan, input.region);
  if ('refused' in placed) {
    const where = (await deps.placements.sellableZones(plan)).map((z) => z.zone);
    throw new ValidationError(refusalText(plan, input.region, placed.refused), {
      errors: [
        {
          path: 'json.region',
          message: where.length > 0 ? `the ${plan.name} plan is sold in ${where.join(', ')}` : `the ${plan.name} plan is sold nowhere right now`,
        },
      ],
    });
  }
  await assertDomainClaimable(deps.db, deps.config, input.domain);
  await settleEarlierCheckouts(deps, access.workspaceId, input.domain);
  // The workspace's Stripe customer, if it has paid before: one customer, one portal, its address and VAT number kept.
  const [earlier] = await deps.db
    .select({ customerId: subscriptions.stripeCustomerId })
    .from(subscriptions)
    .where(and(eq(subscriptions.workspaceId, access.workspaceId), isNotNull(subscriptions.stripeCustomerId)))
    .orderBy(desc(subscriptions.createdAt))
    .limit(1);

  const [checkout] = await deps.db
    .insert(checkouts)
    .values({
      workspaceId: access.workspaceId,
      planId: plan.id,
      zone: input.region,
      domain: input.domain,
      createdBy: userId,
    })
    .returning({ id: checkouts.id });
  const base = deps.config.http.publicUrl;
  const session = await deps.billing.createCheckoutSession({
    priceId: plan.stripePriceId,
    customerEmail: email,
    customerId: earlier?.customerId ?? undefined,
    clientReferenceId: checkout!.id,
    metadata: { checkoutId: checkout!.id, workspaceId: access.workspaceId, domain: input.domain, zone: input.region, plan: plan.id },
    successUrl: `${base}/checkout/done?checkout=${checkout!.id}`,
    cancelUrl: `${base}/checkout/cancelled?checkout=${checkout!.id}`,
    tax: {
      automaticTax: deps.config.billing.automaticTax,
      taxIdCollection: deps.config.billing.taxIdCollection,
      billingAddressCollection: deps.config.billing.billingAddressCollection,
    },
  });
  await deps.db.transaction(async (tx) => {
    await tx.update(checkouts).set({ stripeSessionId: session.id }).where(eq(checkouts.id, checkout!.id));
    await audit(tx, actor, {
      action: 'checkout.start',
      workspaceId: access.workspaceId,
      target: checkout!.id,
      details: { plan: plan.id, zone: input.region, domain: input.domain },
    });
  });
  return { checkoutId: checkout!.id, sessionId: session.id, checkoutUrl: session.url };
}
