/** The ops jobs and their schedules, registered on every worker process (pg-boss runs each cron once). */
import { SYSTEM_ACTOR } from '../audit.ts';
import { deliverAlert, deliveryFailed, sweepOutbox } from './alert-delivery.ts';
import type { OpsDeps } from './deps.ts';
import { checkServer, sweepMonitor } from './monitor.ts';
import { reconcile } from './reconcile.ts';

/** One delivery attempt per job, retried by the queue's policy; the delivery marked failed when it fails for good. */
export async function registerAlertDelivery(deps: Pick<OpsDeps, 'database' | 'queue' | 'settings' | 'clock' | 'log'>): Promise<void> {
  await deps.queue.work('ops.alert_delivery', ({ deliveryId }) => deliverAlert(deps, deliveryId));
  await deps.queue.workFailures('ops.alert_delivery_failed', ({ deliveryId }, failed) => deliveryFailed(deps, deliveryId, failed));
}

export async function registerOpsWorkers(deps: OpsDeps): Promise<void> {
  const { queue, log, settings } = deps;
  await queue.work('ops.monitor_sweep', async () => {
    await sweepMonitor(deps);
  });
  await queue.work('ops.check_server', async ({ serverId }) => {
    await checkServer(deps, serverId);
  });
  await registerAlertDelivery(deps);
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
