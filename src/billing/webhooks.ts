/**
 * Stripe webhook processing. The signature is verified on the raw body before
 * anything is read; then, in one transaction, the event id is recorded (the
 * primary key makes a replay a no-op) together with every state change and
 * job it causes — a completed checkout becomes subscription + server rows + the
 * provisioning run, or none of them.
 */
import { eq } from 'drizzle-orm';
import { domainOverlapsLiveServer } from '../servers/domain-claims.ts';
import { findLookalikeDomain } from './confusable-domains.ts';
import { domainToUnicode } from 'node:url';
import { audit } from '../audit.ts';
import { duplicatePaymentAlertKey } from './refund-refused-payment.ts';
import type { Clock } from '../clock.ts';
import type { Database } from '../db/client.ts';
import type { Plan } from '../config.ts';
import { checkouts, servers, stripeEvents, subscriptions } from '../db/schema/index.ts';
import { applySubscriptionState } from './subscription-state.ts';
import type { JobQueue } from '../jobs/queue.ts';
import type { Logger } from '../log.ts';
import type { BillingEvent, BillingProvider } from '../providers/billing/interface.ts';
import type { AlertSink } from '../../provisioning/alerts.ts';
import { startRun } from '../../provisioning/engine.ts';

export interface WebhookDeps {
  database: Database;
  billing: BillingProvider;
  queue: JobQueue;
  log: Logger;
  /** Ops alerts (a payment that cannot be served needs a refund); absent in callers that raise none. */
  alerts?: AlertSink;
  /** How long an ended subscription's server is kept suspended before it is deprovisioned. */
  graceMs: number;
  /** The plans sold, to recognise a plan change by the subscription's price. */
  plans?: readonly Plan[];
  /** When a grace period starts, what the subscription rows are stamped with. */
  clock: Clock;
}

const STRIPE_ACTOR = { id: 'stripe', kind: 'stripe' as const, ip: null };
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export async function handleStripeWebhook(deps: WebhookDeps, rawBody: string, signature: string | undefined): Promise<{ outcome: string; duplicate: boolean }> {
  const event = await deps.billing.parseWebhook(rawBody, signature);
  return deps.database.db.transaction(async (tx) => {
    const stripeType = event.type === 'other' ? event.stripeType : event.type;
    const [fresh] = await tx
      .insert(stripeEvents)
      .values({ id: event.id, type: stripeType, outcome: 'processing' })
      .onConflictDoNothing()
      .returning({ id: stripeEvents.id });
    if (!fresh) return { outcome: 'duplicate', duplicate: true };
    const outcome = await apply(event);
    await tx.update(stripeEvents).set({ outcome }).where(eq(stripeEvents.id, event.id));
    deps.log.info({ eventId: event.id, type: stripeType, outcome }, 'stripe event');
    return { outcome, duplicate: false };

    async function apply(e: BillingEvent): Promise<string> {
      switch (e.type) {
        case 'checkout.session.completed':
        case 'checkout.session.async_payment_succeeded':
        case 'checkout.session.async_payment_failed': {
          const ref = e.clientReferenceId && UUID.test(e.clientReferenceId) ? e.clientReferenceId : null;
          const [checkout] = ref
            ? await tx.select().from(checkouts).where(eq(checkouts.id, ref)).for('update')
            : await tx.select().from(checkouts).where(eq(checkouts.stripeSessionId, e.sessionId)).for('update');
          if (!checkout) return 'ignored: unknown checkout';
          if (e.type === 'checkout.session.completed') {
            if (checkout.status === 'expired') return refuse(checkout, e, 'the checkout was replaced or had expired');
            if (checkout.status !== 'pending') return 'ignored: checkout already completed';
            // A delayed method (SEPA debit…) completes the session before any money moved:
            // nothing is provisioned until Stripe says the payment settled.
            if (e.paymentStatus === 'unpaid') {
              await tx.update(checkouts).set({ status: 'awaiting_payment', stripeSessionId: e.sessionId }).where(eq(checkouts.id, checkout.id));
              await recordSubscription(checkout, e, 'incomplete');
              await audit(tx, STRIPE_ACTOR, {
                action: 'checkout.awaiting_payment',
                workspaceId: checkout.workspaceId,
                target: checkout.id,
                details: { eventId: e.id },
              });
              return 'awaiting payment: the session completed unpaid (delayed payment method)';
            }
            return fulfil(checkout, e);
          }
          if (checkout.status !== 'awaiting_payment') return `ignored: checkout is ${checkout.status}`;
          if (e.type === 'checkout.session.async_payment_failed') {
            await tx.update(checkouts).set({ status: 'payment_failed' }).where(eq(checkouts.id, checkout.id));
            await recordSubscription(checkout, e, 'incomplete_expired');
            await audit(tx, STRIPE_ACTOR, {
              action: 'checkout.payment_failed',
              workspaceId: checkout.workspaceId,
              target: checkout.id,
              details: { eventId: e.id },
            });
            // Stripe leaves the subscription past_due and would invoice it again for a server that
            // will never exist: cancelled by a job (enqueued with this change, retried with backoff).
            if (e.subscriptionId) {
              await deps.queue.send(
                'billing.cancel_subscription',
                { stripeSubscriptionId: e.subscriptionId, why: 'first payment failed' },
                { tx, singletonKey: e.subscriptionId },
              );
            }
            return 'payment failed: nothing provisioned, subscription being cancelled';
          }
          return fulfil(checkout, e);
        }
        case 'customer.subscription.updated':
        case 'customer.subscription.deleted':
        case 'customer.subscription.paused':
        case 'customer.subscription.resumed': {
          const [sub] = await tx.select().from(subscriptions).where(eq(subscriptions.stripeSubscriptionId, e.subscriptionId)).for('update');
          if (!sub) return 'ignored: unknown subscription';
          // Stripe's state now, under the row lock (see subscription-state.ts); if Stripe cannot be
          // asked, the delivery fails, nothing is recorded, and Stripe delivers it again later.
          // A subscription Stripe no longer has (its customer deleted by hand) bills nothing: it has ended.
          const current = (await deps.billing.getSubscription(e.subscriptionId)) ?? {
            id: e.subscriptionId,
            status: 'canceled' as const,
            customerId: sub.stripeCustomerId ?? '',
            currentPeriodEnd: null,
            cancelAtPeriodEnd: false,
            priceId: null,
          };
          return applySubscriptionState(
            { queue: deps.queue, graceMs: deps.graceMs, clock: deps.clock, ...(deps.plans ? { plans: deps.plans } : {}) },
            tx,
            sub,
            current,
            STRIPE_ACTOR,
            { eventId: e.id, eventType: e.type },
          );
        }
        default:
          return 'ignored: not handled';
      }
    }

    type Checkout = typeof checkouts.$inferSelect;

    /**
     * Money arrived for a server that cannot exist (the domain is served, the checkout was
     * replaced): nothing is provisioned, the checkout says why, and a job (enqueued with this
     * transaction) cancels the subscription, refunds it and tells the customer. The ops alert
     * is resolved by that job once done; while it stays open, the job has not finished.
     */
    async function refuse(checkout: Checkout, e: SessionEvent, why: string): Promise<string> {
      await tx.update(checkouts).set({ status: 'refused', stripeSessionId: e.sessionId }).where(eq(checkouts.id, checkout.id));
      await audit(tx, STRIPE_ACTOR, { action: 'checkout.refused', workspaceId: checkout.workspaceId, target: checkout.id, details: { eventId: e.id, why } });
      if (e.subscriptionId) {
        await deps.queue.send(
          'billing.refund_refused_payment',
          { checkoutId: checkout.id, stripeSubscriptionId: e.subscriptionId, why },
          { tx, singletonKey: checkout.id },
        );
      }
      await deps.alerts?.open(tx, {
        kind: 'duplicate_payment',
        severity: 'warning',
        serverId: null,
        dedupeKey: duplicatePaymentAlertKey(checkout.id),
        message: `A payment arrived for ${checkout.domain} but ${why}: mailplane is cancelling Stripe subscription ${e.subscriptionId ?? '(none)'} with a refund and mailing the customer; if this stays open, do it by hand.`,
        details: {
          checkoutId: checkout.id,
          workspaceId: checkout.workspaceId,
          stripeSubscriptionId: e.subscriptionId,
          stripeCustomerId: e.customerId,
          sessionId: e.sessionId,
        },
      });
      return `refused: ${why}`;
    }
    type SessionEvent = Extract<BillingEvent, { sessionId: string }>;

    async function recordSubscription(checkout: Checkout, e: SessionEvent, status: 'active' | 'incomplete' | 'incomplete_expired'): Promise<string> {
      const values = {
        workspaceId: checkout.workspaceId,
        checkoutId: checkout.id,
        planId: checkout.planId,
        status,
        stripeSubscriptionId: e.subscriptionId,
        stripeCustomerId: e.customerId,
      };
      const [sub] = await tx
        .insert(subscriptions)
        .values(values)
        .onConflictDoUpdate({ target: subscriptions.checkoutId, set: { status, updatedAt: new Date(deps.clock.now()) } })
        .returning({ id: subscriptions.id });
      return sub!.id;
    }

    /** The money is there (paid, settled, or none needed): subscription + server + provisioning run. */
    async function fulfil(checkout: Checkout, e: SessionEvent): Promise<string> {
      await tx.update(checkouts).set({ status: 'completed', stripeSessionId: e.sessionId }).where(eq(checkouts.id, checkout.id));
      const subscriptionId = await recordSubscription(checkout, e, 'active');
      // Checked again here: another checkout for an overlapping domain may have been paid meanwhile.
      if (await domainOverlapsLiveServer(tx, checkout.domain)) return refuse(checkout, e, `${checkout.domain} is already served by another server`);
      const [server] = await tx
        .insert(servers)
        .values({
          workspaceId: checkout.workspaceId,
          subscriptionId,
          planId: checkout.planId,
          zone: checkout.zone,
          domain: checkout.domain,
          hostname: `mail.${checkout.domain}`,
        })
        .onConflictDoNothing()
        .returning({ id: servers.id });
      if (!server) return refuse(checkout, e, `${checkout.domain} is already served by another server`);
      // A look-alike of another customer's domain is served, not refused, but put before ops to review.
      const lookalike = await findLookalikeDomain(tx, checkout.domain, checkout.workspaceId);
      if (lookalike) {
        await deps.alerts?.open(tx, {
          kind: 'confusable_domain',
          severity: 'warning',
          serverId: server.id,
          dedupeKey: `confusable_domain:${server.id}`,
          message: `${checkout.domain} (${domainToUnicode(checkout.domain)}) looks like ${lookalike}, served for another server: review it for phishing before it is relied on.`,
          details: { domain: checkout.domain, lookalike, workspaceId: checkout.workspaceId, checkoutId: checkout.id },
        });
      }
      const runId = await startRun(deps.queue, tx, { serverId: server.id, kind: 'provision' });
      await audit(tx, STRIPE_ACTOR, { action: 'server.provision', workspaceId: checkout.workspaceId, target: server.id, details: { runId, eventId: e.id } });
      return `provisioning server ${server.id}`;
    }
  });
}
