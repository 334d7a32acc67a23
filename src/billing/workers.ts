/** The billing jobs, registered on every worker process. */
import type { Clock } from '../clock.ts';
import type { Database } from '../db/client.ts';
import type { JobQueue } from '../jobs/queue.ts';
import type { Logger } from '../log.ts';
import type { Mailer } from '../mail/mailer.ts';
import type { BillingProvider } from '../providers/billing/interface.ts';
import type { AlertSink } from '../../provisioning/alerts.ts';
import type { Plan } from '../config.ts';
import type { Placements } from '../servers/placement.ts';
import { endGracePeriods } from './grace.ts';
import { resizeAfterPlanChange } from './resize-server.ts';
import { sendBillingNotice } from './notices.ts';
import { refundRefusedPayment, SETTLING_RECHECK_SECONDS } from './refund-refused-payment.ts';

/** What the billing jobs receive (built by the composition root's worker registration). */
export interface BillingWorkerDeps {
  database: Database;
  queue: JobQueue;
  billing: BillingProvider;
  alerts: AlertSink;
  mailer: Mailer;
  log: Logger;
  publicUrl: string;
  /** For plan changes: the plans sold and where their instance types are (resize-server.ts). */
  plans: readonly Plan[];
  placements: Placements;
  /** How long an ended subscription's server is kept (said in the cancellation mail). */
  graceMs: number;
  clock: Clock;
}

export async function registerBillingWorkers(workerDeps: BillingWorkerDeps): Promise<void> {
  const deps = { ...workerDeps, settlingRecheckSeconds: SETTLING_RECHECK_SECONDS };
  const { queue, log, billing } = deps;
  await queue.work('billing.refund_refused_payment', async (data) => {
    const outcome = await refundRefusedPayment(deps, data);
    log.info({ checkoutId: data.checkoutId, outcome }, 'refused payment handled');
  });
  // Throws on a failure: pg-boss retries with backoff (cancelling a cancelled subscription succeeds).
  await queue.work('billing.cancel_subscription', async (data) => {
    await billing.cancelSubscription(data.stripeSubscriptionId);
    log.info({ why: data.why }, 'stripe subscription cancelled');
  });
  await queue.work('billing.notify', async (data) => {
    const outcome = await sendBillingNotice(
      {
        db: deps.database.db,
        mailer: deps.mailer,
        publicUrl: deps.publicUrl,
        plans: deps.plans,
        graceDays: Math.round(deps.graceMs / 86_400_000),
      },
      data,
    );
    log.info({ subscriptionId: data.subscriptionId, kind: data.kind, outcome }, 'billing notice');
  });
  await queue.work('billing.resize_server', async (data) => {
    const outcome = await resizeAfterPlanChange(deps, data);
    log.info({ serverId: data.serverId, outcome }, 'plan change: server size');
  });
  await queue.work('billing.grace_sweep', async () => void (await endGracePeriods(deps)));
  await queue.schedule('billing.grace_sweep', '*/15 * * * *', {});
}
