/**
 * Stripe webhook processing. The signature is verified on the raw body before
 * anything is read; then, in one transaction, the event id is recorded (the
 * primary key makes a replay a no-op) together with every state change and
 * job it causes — a completed checkout becomes subscription + server rows + the
 * provisioning run, or none of them.
 */
import { eq } from 'drizzle-orm';
import { audit } from '../audit.ts';
import type { Database } from '../db/client.ts';
import { startDeprovision } from '../servers/lifecycle.ts';
import { checkouts, servers, stripeEvents, subscriptions } from '../db/schema/index.ts';
import { inTransaction } from '../db/tx.ts';
import type { JobQueue } from '../jobs/queue.ts';
import type { Logger } from '../log.ts';
import type { BillingEvent, BillingProvider } from '../providers/billing/interface.ts';
import { startRun } from '../../provisioning/engine.ts';

export interface WebhookDeps {
  database: Database;
  billing: BillingProvider;
  queue: JobQueue;
  log: Logger;
}

const STRIPE_ACTOR = { id: 'stripe', kind: 'stripe' as const, ip: null };
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export async function handleStripeWebhook(deps: WebhookDeps, rawBody: string, signature: string | undefined): Promise<{ outcome: string; duplicate: boolean }> {
  const event = await deps.billing.parseWebhook(rawBody, signature);
  return inTransaction(deps.database, async (tx, raw) => {
    const stripeType = event.type === 'other' ? event.stripeType : event.type;
    const [fresh] = await tx.insert(stripeEvents).values({ id: event.id, type: stripeType, outcome: 'processing' }).onConflictDoNothing().returning({ id: stripeEvents.id });
    if (!fresh) return { outcome: 'duplicate', duplicate: true };
    const outcome = await apply(event);
    await tx.update(stripeEvents).set({ outcome }).where(eq(stripeEvents.id, event.id));
    deps.log.info({ eventId: event.id, type: stripeType, outcome }, 'stripe event');
    return { outcome, duplicate: false };

    async function apply(e: BillingEvent): Promise<string> {
      switch (e.type) {
        case 'checkout.session.completed': {
          const ref = e.clientReferenceId && UUID.test(e.clientReferenceId) ? e.clientReferenceId : null;
          const [checkout] = ref
            ? await tx.select().from(checkouts).where(eq(checkouts.id, ref)).for('update')
            : await tx.select().from(checkouts).where(eq(checkouts.stripeSessionId, e.sessionId)).for('update');
          if (!checkout) return 'ignored: unknown checkout';
          if (checkout.status !== 'pending') return 'ignored: checkout already completed';
          await tx.update(checkouts).set({ status: 'completed', stripeSessionId: e.sessionId }).where(eq(checkouts.id, checkout.id));
          const [sub] = await tx.insert(subscriptions).values({
            workspaceId: checkout.workspaceId, checkoutId: checkout.id, planId: checkout.planId, status: 'active',
            stripeSubscriptionId: e.subscriptionId, stripeCustomerId: e.customerId,
          }).returning({ id: subscriptions.id });
          const [server] = await tx.insert(servers).values({
            workspaceId: checkout.workspaceId, subscriptionId: sub!.id, planId: checkout.planId, zone: checkout.zone,
            domain: checkout.domain, hostname: `mail.${checkout.domain}`,
          }).onConflictDoNothing().returning({ id: servers.id });
          if (!server) return 'rejected: domain already served';
          const runId = await startRun(deps.queue, tx, raw, { serverId: server.id, kind: 'provision' });
          await audit(tx, STRIPE_ACTOR, { action: 'server.provision', workspaceId: checkout.workspaceId, target: server.id, details: { runId, eventId: e.id } });
          return `provisioning server ${server.id}`;
        }
        case 'customer.subscription.updated':
        case 'customer.subscription.deleted': {
          const [sub] = await tx.select().from(subscriptions).where(eq(subscriptions.stripeSubscriptionId, e.subscriptionId)).for('update');
          if (!sub) return 'ignored: unknown subscription';
          const status = e.type === 'customer.subscription.deleted' ? 'canceled' : e.status;
          await tx.update(subscriptions).set({ status, updatedAt: new Date() }).where(eq(subscriptions.id, sub.id));
          const [server] = await tx.select().from(servers).where(eq(servers.subscriptionId, sub.id)).for('update');
          if (!server || server.status === 'deleted' || server.status === 'deprovisioning') return `subscription ${status}`;
          if (status === 'canceled') {
            await startDeprovision(deps.queue, tx, raw, server, STRIPE_ACTOR, 'Subscription cancelled', { eventId: e.id });
            return `deprovisioning server ${server.id}`;
          }
          if (status === 'past_due' || status === 'unpaid') {
            await tx.update(servers).set({
              status: 'suspended',
              statusReason: status === 'past_due' ? 'Payment failed: update your payment method to keep the server' : 'Unpaid: the server will be removed if the subscription is cancelled',
              updatedAt: new Date(),
            }).where(eq(servers.id, server.id));
            await audit(tx, STRIPE_ACTOR, { action: 'server.suspend', workspaceId: sub.workspaceId, target: server.id, details: { status } });
            return `server ${server.id} suspended (${status})`;
          }
          if (status === 'active' && server.status === 'suspended') {
            await tx.update(servers).set({ status: 'ready', statusReason: null, updatedAt: new Date() }).where(eq(servers.id, server.id));
            return `server ${server.id} reinstated`;
          }
          return `subscription ${status}`;
        }
        default:
          return 'ignored: not handled';
      }
    }
  });
}
