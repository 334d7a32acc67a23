/** The backup jobs and their per-minute sweep, registered on every worker process (pg-boss runs the cron once). */
import { JOB_CATALOG } from '../jobs/catalog.ts';
import type { BackupDeps } from './deps.ts';
import { runDrill } from './drill.ts';
import { maintainRepository } from './maintenance.ts';
import { runMailboxRestore } from './restore-mailbox.ts';
import { deleteBackups } from './retire.ts';
import { alertBackupFailed, runBackup } from './run-backup.ts';
import { sweepBackups } from './schedule.ts';

export async function registerBackupWorkers(deps: BackupDeps): Promise<void> {
  const { queue } = deps;
  await queue.work('backups.sweep', async () => {
    await sweepBackups(deps);
  });
  await queue.work('backups.run', async ({ serverId, reason }, job) => {
    try {
      await runBackup(deps, serverId, reason);
    } catch (err) {
      // pg-boss retries with backoff; only the attempt that gives up tells ops.
      if (job.retryCount >= (JOB_CATALOG['backups.run'].queue.retryLimit ?? 0)) await alertBackupFailed(deps, serverId, err instanceof Error ? err.message : String(err));
      throw err;
    }
  });
  await queue.work('backups.maintain', async ({ serverId }) => {
    await maintainRepository(deps, serverId);
  });
  await queue.work('backups.drill', async ({ serverId }) => {
    await runDrill(deps, serverId);
  });
  await queue.work('backups.expire', async ({ serverId }) => {
    await deleteBackups(deps, serverId);
  });
  await queue.work('backups.restore_mailbox', async ({ restoreId }) => {
    await runMailboxRestore(deps, restoreId);
  });
  await queue.schedule('backups.sweep', '* * * * *', {});
}
