/** The ops jobs and their schedules, registered on every worker process (pg-boss runs each cron once). */
import { SYSTEM_ACTOR } from '../audit.ts';
import { deliverAlert, sweepOutbox } from './alert-delivery.ts';
import type { OpsDeps } from './deps.ts';
import { checkServer, sweepMonitor } from './monitor.ts';
import { reconcile } from './reconcile.ts';

export async function registerOpsWorkers(deps: OpsDeps): Promise<void> {
  const { queue, log, settings } = deps;
  await queue.work('ops.monitor_sweep', async () => {
    await sweepMonitor(deps);
  });
  await queue.work('ops.check_server', async ({ serverId }) => {
    await checkServer(deps, serverId);
  });
  await queue.work('ops.alert_delivery', ({ deliveryId }) => deliverAlert(deps, deliveryId));
  await queue.work('ops.alert_outbox', async () => {
    await sweepOutbox(deps);
  });
  await queue.work('ops.reconcile', async ({ apply }) => {
    const result = await reconcile(deps, { apply: apply ?? false, actor: SYSTEM_ACTOR });
    if (result.findings.length > 0) log.warn({ findings: result.findings.length, deleted: result.deleted.length }, 'reconcile: discrepancies found');
  });
  await queue.schedule('ops.monitor_sweep', '* * * * *', {});
  await queue.schedule('ops.alert_outbox', '* * * * *', {});
  // Scheduled passes only report; deleting is a human decision (`mailplane reconcile --apply`).
  await queue.schedule('ops.reconcile', settings.reconcileCron, {});
}
