/**
 * A payment that arrived for a server that cannot exist (the webhook refused
 * the checkout): the subscription is cancelled at Stripe, what was paid is
 * refunded, and the customer is told. Runs as the `billing.refund_refused_payment`
 * job; every attempt redoes the whole sequence, each part safe to repeat
 * (cancelling a cancelled subscription succeeds, refunds carry idempotency
 * keys), and only the last step — checkout `refused` → `refunded`, under a row
 * lock — claims the customer mail, so replays and retries send it once.
 */
import { and, eq, isNull } from 'drizzle-orm';
import type { AlertSink } from '../../provisioning/alerts.ts';
import { audit, SYSTEM_ACTOR } from '../audit.ts';
import type { Clock } from '../clock.ts';
import type { Database } from '../db/client.ts';
import { alerts, checkouts, subscriptions, users } from '../db/schema/index.ts';
import { isRetryable } from '../errors.ts';
import type { JobData } from '../jobs/catalog.ts';
import type { JobQueue } from '../jobs/queue.ts';
import type { Logger } from '../log.ts';
import { sendBestEffort, type Mailer } from '../mail/mailer.ts';
import { refusedPaymentMessage } from '../mail/messages.ts';
import { managers } from '../mail/server-notices.ts';
import type { BillingProvider, RefundOutcome } from '../providers/billing/interface.ts';

export interface RefundDeps {
  database: Database;
  queue: Pick<JobQueue, 'send'>;
  /** How long to wait before looking again at a bank debit still settling. */
  settlingRecheckSeconds: number;
  billing: BillingProvider;
  alerts: AlertSink;
  mailer: Mailer;
  log: Logger;
  publicUrl: string;
  clock: Clock;
}

type Job = JobData<'billing.refund_refused_payment'>;

const ACTOR = { ...SYSTEM_ACTOR, id: 'refund-refused-payment' };
/** A SEPA debit settles within 14 business days; past 20 days at 6-hourly checks, a person looks. */
export const SETTLING_RECHECK_SECONDS = 6 * 3600;
const MAX_SETTLING_CHECKS = 80;
export const duplicatePaymentAlertKey = (checkoutId: string) => `duplicate_payment:${checkoutId}`;

/** The job. Throws on a retryable Stripe failure (pg-boss tries again later); a refusal for good is left to ops. */
export async function refundRefusedPayment(deps: RefundDeps, job: Job): Promise<'refunded' | 'already done' | 'waiting for the debit' | 'left to ops'> {
  const { db } = deps.database;
  const [checkout] = await db.select().from(checkouts).where(eq(checkouts.id, job.checkoutId));
  if (checkout?.status !== 'refused') return 'already done';
  let outcome: RefundOutcome;
  try {
    // Cancelled first: no renewal may be charged while the refund is on its way.
    await deps.billing.cancelSubscription(job.stripeSubscriptionId);
    outcome = await deps.billing.refundLatestInvoice(job.stripeSubscriptionId, { checkoutId: checkout.id, why: 'duplicate_domain' });
  } catch (err) {
    if (isRetryable(err)) throw err;
    await noteOnAlert(
      deps,
      checkout,
      `the automatic cancel and refund was refused by Stripe (${err instanceof Error ? err.message : String(err)}): do both by hand`,
    );
    return 'left to ops';
  }
  if (outcome.paymentSettling) {
    // A bank debit still settling can be neither cancelled nor refunded: look again later, and
    // refund it once it has settled (or tell the customer nothing was charged if it bounced).
    const checks = (job.settlingChecks ?? 0) + 1;
    if (checks >= MAX_SETTLING_CHECKS) {
      await noteOnAlert(
        deps,
        checkout,
        `the subscription is cancelled, but its bank debit is still settling after ${checks} checks: refund it by hand once it has settled, then tell the customer`,
      );
      return 'left to ops';
    }
    await deps.queue.send(
      'billing.refund_refused_payment',
      { ...job, settlingChecks: checks },
      { startAfterSeconds: deps.settlingRecheckSeconds, singletonKey: `${checkout.id}:settling:${checks}` },
    );
    await noteOnAlert(
      deps,
      checkout,
      `the subscription is cancelled and its bank debit is still settling: mailplane looks again every ${Math.round(deps.settlingRecheckSeconds / 3600) || '<1'} h and refunds it once it has settled`,
    );
    return 'waiting for the debit';
  }

  const claimed = await deps.database.db.transaction(async (tx) => {
    const [locked] = await tx.select().from(checkouts).where(eq(checkouts.id, checkout.id)).for('update');
    if (locked?.status !== 'refused') return false;
    await tx.update(checkouts).set({ status: 'refunded' }).where(eq(checkouts.id, checkout.id));
    await tx
      .update(subscriptions)
      .set({ status: 'canceled', updatedAt: new Date(deps.clock.now()) })
      .where(eq(subscriptions.stripeSubscriptionId, job.stripeSubscriptionId));
    const done = {
      stripeSubscriptionId: job.stripeSubscriptionId,
      amountRefunded: outcome.amountRefunded,
      currency: outcome.currency,
      refundIds: outcome.refundIds,
    };
    await audit(tx, ACTOR, { action: 'checkout.refunded', workspaceId: checkout.workspaceId, target: checkout.id, details: done });
    // The alert keeps the record of what was done; resolved, since nothing is left for ops.
    await tx
      .update(alerts)
      .set({
        message: `A payment arrived for ${checkout.domain} but ${job.why}: subscription ${job.stripeSubscriptionId} cancelled, ${outcome.amountRefunded > 0 ? `${(outcome.amountRefunded / 100).toFixed(2)} ${outcome.currency?.toUpperCase()} refunded` : 'nothing had been charged'}, customer mailed.`,
      })
      .where(and(eq(alerts.dedupeKey, duplicatePaymentAlertKey(checkout.id)), isNull(alerts.resolvedAt)));
    await deps.alerts.resolve(tx, duplicatePaymentAlertKey(checkout.id));
    return true;
  });
  if (!claimed) return 'already done';

  const [creator] = checkout.createdBy ? await db.select({ email: users.email }).from(users).where(eq(users.id, checkout.createdBy)) : [];
  const to = creator ? [creator.email] : await managers(db, checkout.workspaceId);
  const message = refusedPaymentMessage(to, {
    domain: checkout.domain,
    why: job.why,
    amount: outcome.amountRefunded,
    currency: outcome.currency,
    link: `${deps.publicUrl}/w/${checkout.workspaceId}`,
  });
  if (to.length === 0 || !(await sendBestEffort(deps.mailer, deps.log, message))) {
    await deps.alerts.open(db, {
      kind: 'refund_notice_unsent',
      severity: 'info',
      serverId: null,
      dedupeKey: `refund_notice:${checkout.id}`,
      message: `The payment for ${checkout.domain} was refunded, but the mail telling the customer could not be sent: tell them by hand.`,
      details: { checkoutId: checkout.id, workspaceId: checkout.workspaceId },
    });
  }
  return 'refunded';
}

/** Says on the open duplicate_payment alert what is left for ops to do by hand. */
async function noteOnAlert(deps: RefundDeps, checkout: { id: string; domain: string }, note: string): Promise<void> {
  deps.log.warn({ checkoutId: checkout.id, note }, 'refused payment: left to ops');
  await deps.database.db
    .update(alerts)
    .set({ message: `A payment arrived for ${checkout.domain} that cannot be served: ${note}.` })
    .where(and(eq(alerts.dedupeKey, duplicatePaymentAlertKey(checkout.id)), isNull(alerts.resolvedAt)));
}
