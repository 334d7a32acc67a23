/** The backup jobs and their per-minute sweep, registered on every worker process (pg-boss runs the cron once). */
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
  await queue.work('backups.run', async ({ serverId, reason }) => {
    await runBackup(deps, serverId, reason);
  });
  // pg-boss retries a failed backup with backoff; one that fails for good (its last attempt failed
  // or expired) tells ops.
  await queue.workFailures('backups.run_failed', ({ serverId }, failed) => alertBackupFailed(deps, serverId, failed.error));
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
