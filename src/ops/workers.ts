/** The ops jobs and their schedules, registered on every worker process (pg-boss runs each cron once). */
import type { AppContext } from '../app-context.ts';
import { SYSTEM_ACTOR } from '../audit.ts';
import { deliverAlert, sweepOutbox } from './alert-delivery.ts';
import { opsDeps } from './deps.ts';
import { checkServer, sweepMonitor } from './monitor.ts';
import { reconcile } from './reconcile.ts';

export async function registerOpsWorkers(ctx: AppContext): Promise<void> {
  const deps = opsDeps(ctx);
  await ctx.queue.work('ops.monitor_sweep', async () => {
    await sweepMonitor(deps);
  });
  await ctx.queue.work('ops.check_server', async ({ serverId }) => {
    await checkServer(deps, serverId);
  });
  await ctx.queue.work('ops.alert_delivery', ({ deliveryId }) => deliverAlert(deps, deliveryId));
  await ctx.queue.work('ops.alert_outbox', async () => {
    await sweepOutbox(deps);
  });
  await ctx.queue.work('ops.reconcile', async ({ apply }) => {
    const result = await reconcile(deps, { apply: apply ?? false, actor: SYSTEM_ACTOR });
    if (result.findings.length > 0) ctx.log.warn({ findings: result.findings.length, deleted: result.deleted.length }, 'reconcile: discrepancies found');
  });
  await ctx.queue.schedule('ops.monitor_sweep', '* * * * *', {});
  await ctx.queue.schedule('ops.alert_outbox', '* * * * *', {});
  // Scheduled passes only report; deleting is a human decision (`mailplane reconcile --apply`).
  await ctx.queue.schedule('ops.reconcile', ctx.config.ops.reconcileCron, {});
}
