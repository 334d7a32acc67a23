/**
 * A restore drill: the latest snapshot restored on the control plane (admin
 * credential, scratch directory removed afterwards) and every message the
 * server's manifest named at backup time compared, per folder, by content hash.
 * The result is stored and shown; a failure opens a critical ops alert, the
 * next pass resolves it. A simulated snapshot (emulated host) is not drilled:
 * the drill is recorded as skipped and says why.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { and, desc, eq } from 'drizzle-orm';
import { backupDrills, backupRepositories, backupRuns, servers } from '../db/schema/index.ts';
import { NotFoundError } from '../errors.ts';
import { backupAlertKey } from '../ops/alert-keys.ts';
import type { BackupDeps } from './deps.ts';
import { compareManifests, scanMailRoot } from './manifest.ts';
import { adminTarget } from './repository.ts';
import { restoreSnapshot } from './restic.ts';

export const MAIL_ROOT = '/var/vmail';
export type DrillRow = typeof backupDrills.$inferSelect;

export async function runDrill(deps: BackupDeps, serverId: string): Promise<DrillRow | null> {
  const { db } = deps.database;
  const [server] = await db.select().from(servers).where(eq(servers.id, serverId));
  if (!server) throw new NotFoundError('Server');
  const [snapshot] = await db
    .select()
    .from(backupRuns)
    .where(and(eq(backupRuns.serverId, serverId), eq(backupRuns.status, 'succeeded')))
    .orderBy(desc(backupRuns.finishedAt))
    .limit(1);
  if (!snapshot) return null;
  const [drill] = await db
    .insert(backupDrills)
    .values({ serverId, backupRunId: snapshot.id, resticSnapshotId: snapshot.resticSnapshotId, startedAt: new Date(deps.clock.now()) })
    .returning();
  const finish = (values: Partial<typeof backupDrills.$inferInsert>) =>
    db
      .update(backupDrills)
      .set({ finishedAt: new Date(deps.clock.now()), ...values })
      .where(eq(backupDrills.id, drill!.id))
      .returning()
      .then((r) => r[0]!);

  if (snapshot.simulated) {
    return finish({ status: 'skipped', details: { why: 'simulated snapshot: the emulated host ran no restic, so there is nothing to restore' } });
  }
  const [repo] = await db.select().from(backupRepositories).where(eq(backupRepositories.serverId, serverId));
  const scratch = await mkdtemp(join(tmpdir(), 'mailplane-drill-'));
  let result: DrillRow;
  try {
    if (!repo || !snapshot.resticSnapshotId || !snapshot.manifest) throw new Error('the snapshot has no repository, id or manifest');
    // The tree the manifest describes (checked when the run was stored: absolute, no "..").
    const root = snapshot.manifest.root ?? MAIL_ROOT;
    await restoreSnapshot(await adminTarget(deps, server, repo), snapshot.resticSnapshotId, scratch, [root], { binary: deps.settings.resticBinary });
    const comparison = compareManifests(snapshot.manifest, await scanMailRoot(join(scratch, root), new Date(deps.clock.now())));
    const failing = comparison.folders.filter((f) => f.missing.length > 0 || f.differing.length > 0);
    result = await finish({
      status: comparison.passed ? 'passed' : 'failed',
      messagesCompared: comparison.messagesCompared,
      details: { folders: comparison.folders.length, failing: failing.slice(0, 20) },
      error: comparison.passed ? null : `${failing.length} folder(s) restored with missing or different messages`,
    });
  } catch (err) {
    result = await finish({ status: 'failed', error: (err instanceof Error ? err.message : String(err)).slice(0, 2000) });
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  const key = backupAlertKey('backup_drill_failed', serverId);
  if (result.status === 'failed') {
    await deps.alerts.open(db, {
      kind: 'backup_drill_failed',
      severity: 'critical',
      serverId,
      dedupeKey: key,
      message: `${server.hostname}: restore drill of snapshot ${snapshot.resticSnapshotId} failed (${result.error?.slice(0, 200)})`,
      details: { drillId: result.id, snapshot: snapshot.resticSnapshotId },
    });
  } else {
    await deps.alerts.resolve(db, key);
  }
  deps.log.info({ serverId, drill: result.id, status: result.status, compared: result.messagesCompared }, 'restore drill finished');
  return result;
}
