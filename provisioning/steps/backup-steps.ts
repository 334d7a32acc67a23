/**
 * Backups inside runs. `beforeChange` guards the steps that change a running
 * server (install_mail_stack and harden re-run on a ready server, or in an IP
 * rotation): a fresh backup first, or the step fails retryably saying why.
 * `final_backup` (deprovision) takes the last backup before the instance is
 * deleted and keeps it for the grace period; under GDPR erasure it is skipped,
 * as the backups are deleted right after.
 */
import { and, eq, inArray } from 'drizzle-orm';
import { backupBeforeChange } from '../../src/backups/before-change.ts';
import { keepFinalBackup } from '../../src/backups/retire.ts';
import { alertBackupFailed, runBackup } from '../../src/backups/run-backup.ts';
import { provisioningRuns, provisioningSteps, workspaces } from '../../src/db/schema/index.ts';
import type { StepContext, StepDefinition } from '../context.ts';

/** Called by a step before it changes the server; a no-op while the server is being provisioned. */
export async function backupIfRunning(ctx: StepContext, operation: string): Promise<void> {
  const { deps, server, run, log } = ctx;
  if (!deps.backups || (server.status !== 'ready' && run.kind !== 'rotate_ip')) return;
  const result = await backupBeforeChange(deps.backups, server.id, run.kind === 'rotate_ip' ? `rotate_ip` : operation);
  if (result.outcome === 'taken') log(`backup before the change: snapshot ${result.snapshotId}`);
  else if (result.outcome === 'fresh') log(`backup before the change: the one of ${result.finishedAt} is recent enough`);
  else log(`no backup before the change: ${result.why}`);
}

const FINAL_ATTEMPTS = 4;

export const finalBackup: StepDefinition = {
  name: 'final_backup',
  maxAttempts: FINAL_ATTEMPTS,
  async run({ deps, server, attempt, log }) {
    const backups = deps.backups;
    if (!backups?.storage) return { skipped: 'no backup storage is configured' };
    const [ws] = await deps.database.db.select({ erasing: workspaces.erasureRequestedAt }).from(workspaces).where(eq(workspaces.id, server.workspaceId));
    if (ws?.erasing) return { skipped: 'the workspace is being erased: its backups are deleted, not kept' };
    // Only a server that had its mail stack installed can hold mail.
    const [installed] = await deps.database.db
      .select({ id: provisioningSteps.id })
      .from(provisioningSteps)
      .innerJoin(provisioningRuns, eq(provisioningRuns.id, provisioningSteps.runId))
      .where(and(eq(provisioningRuns.serverId, server.id), eq(provisioningSteps.name, 'install_mail_stack'), inArray(provisioningSteps.status, ['succeeded'])))
      .limit(1);
    if (!installed || !server.sshHostKeyFingerprint) return { skipped: 'the mail stack was never installed: no mail to keep' };
    let snapshot: string | null = null;
    try {
      snapshot = (await runBackup(backups, server.id, 'final')).resticSnapshotId;
      log(`final backup: snapshot ${snapshot}`);
    } catch (err) {
      // A dead server must not hold its deletion forever: after the last attempt the backups
      // taken so far are kept instead, and ops hear that the final one is missing.
      if (attempt < FINAL_ATTEMPTS) throw err;
      const message = err instanceof Error ? err.message : String(err);
      log(`final backup failed (${message}); keeping the backups taken before`);
      await alertBackupFailed(backups, server.id, `final backup before deletion: ${message}`);
    }
    const deleteAfter = await keepFinalBackup(backups, server.id);
    if (deleteAfter) log(`backups kept until ${deleteAfter.toISOString()}`);
    return { snapshot, keptUntil: deleteAfter?.toISOString() ?? null };
  },
};
