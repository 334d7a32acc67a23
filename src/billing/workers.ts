/** The billing jobs, registered on every worker process. */
import type { AppContext } from '../app-context.ts';
import { endGracePeriods } from './grace.ts';
import { sendBillingNotice } from './notices.ts';
import { refundRefusedPayment, SETTLING_RECHECK_SECONDS } from './refund-refused-payment.ts';

export async function registerBillingWorkers(ctx: AppContext): Promise<void> {
  const deps = {
    database: ctx.database, queue: ctx.queue, settlingRecheckSeconds: SETTLING_RECHECK_SECONDS,
    billing: ctx.providers.billing, alerts: ctx.alerts, mailer: ctx.mailer, log: ctx.log, publicUrl: ctx.config.http.publicUrl,
  };
  await ctx.queue.work('billing.refund_refused_payment', async (data) => {
    const outcome = await refundRefusedPayment(deps, data);
    ctx.log.info({ checkoutId: data.checkoutId, outcome }, 'refused payment handled');
  });
  // Throws on a failure: pg-boss retries with backoff (cancelling a cancelled subscription succeeds).
  await ctx.queue.work('billing.cancel_subscription', async (data) => {
    await ctx.providers.billing.cancelSubscription(data.stripeSubscriptionId);
    ctx.log.info({ why: data.why }, 'stripe subscription cancelled');
  });
  await ctx.queue.work('billing.notify', async (data) => {
    const outcome = await sendBillingNotice({ db: ctx.database.db, mailer: ctx.mailer, publicUrl: ctx.config.http.publicUrl }, data);
    ctx.log.info({ subscriptionId: data.subscriptionId, kind: data.kind, outcome }, 'billing notice');
  });
  await ctx.queue.work('billing.grace_sweep', async () => void (await endGracePeriods(deps)));
  await ctx.queue.schedule('billing.grace_sweep', '*/15 * * * *', {});
}
