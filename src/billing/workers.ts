/** The billing jobs, registered on every worker process. */
import type { AppContext } from '../app-context.ts';
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
}
