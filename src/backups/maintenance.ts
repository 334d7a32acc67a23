/**
 * Retention and integrity, run by the control plane with the admin credential
 * (a server's own key cannot delete its history, so it cannot prune either):
 * `restic forget --prune` with the configured daily/weekly/monthly policy, then
 * `restic check`. A failed check opens a critical ops alert; the next passing
 * check resolves it.
 */
import { and, eq } from 'drizzle-orm';
import { backupRepositories, backupRuns, servers } from '../db/schema/index.ts';
import { NotFoundError } from '../errors.ts';
import { backupAlertKey } from '../ops/alert-keys.ts';
import type { BackupDeps } from './deps.ts';
import { adminTarget } from './repository.ts';
import { checkRepository, forgetAndPrune } from './restic.ts';

export type MaintenanceResult = { outcome: 'skipped'; why: string } | { outcome: 'checked'; passed: boolean; error: string | null };

/** `readAll`: read every pack now instead of the day's seventh (ops, after a suspicion; tests). */
export async function maintainRepository(deps: BackupDeps, serverId: string, opts: { readAll?: boolean } = {}): Promise<MaintenanceResult> {
  const { db } = deps.database;
  const [server] = await db.select().from(servers).where(eq(servers.id, serverId));
  if (!server) throw new NotFoundError('Server');
  const [repo] = await db.select().from(backupRepositories).where(eq(backupRepositories.serverId, serverId));
  if (!repo || repo.deletedAt) return { outcome: 'skipped', why: 'no repository' };
  // An emulated host never ran restic: there is no repository to check, and pretending would be a lie.
  if (deps.simulatedHosts) return { outcome: 'skipped', why: 'simulated: the emulated host ran no restic, so there is nothing to prune or check' };
  const [real] = await db
    .select({ id: backupRuns.id })
    .from(backupRuns)
    .where(and(eq(backupRuns.serverId, serverId), eq(backupRuns.status, 'succeeded'), eq(backupRuns.simulated, false)))
    .limit(1);
  if (!real) return { outcome: 'skipped', why: 'no snapshot yet' };

  const target = await adminTarget(deps, server, repo);
  await forgetAndPrune(target, deps.settings.retention, { binary: deps.settings.resticBinary });
  let error: string | null = null;
  try {
    await checkRepository(target, {
      binary: deps.settings.resticBinary,
      ...(opts.readAll ? {} : { subset: `${(Math.floor(deps.clock.now() / 86_400_000) % 7) + 1}/7` }),
    });
  } catch (err) {
    error = err instanceof Error ? err.message : String(err);
  }
  await db
    .update(backupRepositories)
    .set({ lastMaintenanceAt: new Date(deps.clock.now()), lastCheckStatus: error ? 'failed' : 'passed', lastCheckError: error?.slice(0, 2000) ?? null })
    .where(eq(backupRepositories.serverId, serverId));
  const key = backupAlertKey('backup_check_failed', serverId);
  if (error) {
    await deps.alerts.open(db, {
      kind: 'backup_check_failed',
      severity: 'critical',
      serverId,
      dedupeKey: key,
      message: `${server.hostname}: restic check found the backup repository damaged`,
      details: { error: error.slice(0, 1000) },
    });
  } else {
    await deps.alerts.resolve(db, key);
  }
  return { outcome: 'checked', passed: error === null, error };
}
