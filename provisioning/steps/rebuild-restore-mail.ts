/**
 * The mail of a rebuilt server. backup_before_rebuild takes a last backup from
 * the old host while it still answers (a rebuild onto a bigger instance, a
 * sick but living server); a lost host does not answer and the latest backup
 * is used. restore_mail then restores that snapshot whole onto the new host,
 * with the server's own key (restore-server.sh), before anything is delivered.
 *
 * The snapshot is chosen once, by backup_before_rebuild, and read from its
 * output: a backup taken on the new, empty host must never become "the latest"
 * that a re-run of restore_mail would restore.
 */
import { and, eq } from 'drizzle-orm';
import { parseMailRestore } from '../../src/backups/restore-output.ts';
import { BACKUP_ENV_PATH, backupEnvFile, ensureRepository } from '../../src/backups/repository.ts';
import { backupFiles, lastSuccessfulBackup, runBackup } from '../../src/backups/run-backup.ts';
import { provisioningSteps } from '../../src/db/schema/index.ts';
import type { Zone } from '../../src/providers/compute/interface.ts';
import type { StepDefinition } from '../context.ts';
import { runScript, withSession } from '../remote.ts';
import type { RebuildParams } from './rebuild-retire.ts';

export interface ChosenSnapshot {
  snapshotId: string | null;
  backupRunId: string | null;
  simulated: boolean;
}

export const backupBeforeRebuild: StepDefinition = {
  name: 'backup_before_rebuild',
  async run({ deps, server, run, log }): Promise<Record<string, unknown>> {
    const backups = deps.backups;
    if (!backups?.storage) {
      log('no backup storage is configured: the rebuilt server starts without its mail');
      return { snapshotId: null, backupRunId: null, simulated: false } satisfies ChosenSnapshot;
    }
    const { retireInstanceId } = run.params as unknown as RebuildParams;
    const old = retireInstanceId ? await deps.compute.getServer(server.zone as Zone, retireInstanceId) : null;
    if (old?.state === 'running') {
      try {
        const taken = await runBackup(backups, server.id, 'before:rebuild');
        log(`last backup from the old host: snapshot ${taken.resticSnapshotId}`);
      } catch (err) {
        // A host sick enough to be rebuilt may fail its backup: the latest good one is used instead.
        log(`the old host could not be backed up (${err instanceof Error ? err.message : String(err)}): restoring the latest backup`);
      }
    } else {
      log(`the old instance is ${old ? old.state : 'gone'}: restoring the latest backup`);
    }
    const latest = await lastSuccessfulBackup(backups, server.id);
    if (!latest) log('no backup of this server exists: the rebuilt server starts without mail');
    else log(`snapshot ${latest.resticSnapshotId} of ${latest.finishedAt!.toISOString()} will be restored`);
    return { snapshotId: latest?.resticSnapshotId ?? null, backupRunId: latest?.id ?? null, simulated: latest?.simulated ?? false } satisfies ChosenSnapshot;
  },
};

export const restoreMail: StepDefinition = {
  name: 'restore_mail',
  async run({ deps, server, run, log }) {
    const [chosen] = await deps.database.db
      .select({ output: provisioningSteps.output })
      .from(provisioningSteps)
      .where(and(eq(provisioningSteps.runId, run.id), eq(provisioningSteps.name, 'backup_before_rebuild')));
    const snapshot = (chosen?.output ?? {}) as Partial<ChosenSnapshot>;
    if (!snapshot.snapshotId || !deps.backups) {
      log('no snapshot to restore: the server starts without mail');
      return { restored: false };
    }
    const backups = deps.backups;
    const repo = await ensureRepository(backups, server.id);
    const env = await backupEnvFile(backups, server, repo);
    const stdout = await withSession(deps, server, async (session) => {
      // The new host gets its repository's env file and the backup scripts, as every backup pushes them.
      await session.upload([{ path: BACKUP_ENV_PATH, content: env, mode: 0o600 }, ...backupFiles(server.hostname)]);
      return runScript(session, 'restore-server.sh', log, `${snapshot.snapshotId}\n`);
    });
    const result = parseMailRestore(stdout);
    log(`${result.messages} message(s) restored from snapshot ${snapshot.snapshotId}${result.simulated ? ' (simulated: an emulated host holds no mail)' : ''}`);
    return { restored: true, snapshotId: snapshot.snapshotId, messages: result.messages, simulated: result.simulated };
  },
};
