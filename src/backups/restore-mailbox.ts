/**
 * Restore one mailbox, or one folder of it, from a chosen snapshot: additive,
 * into a folder "Restored YYYY-MM-DD" beside the current mail, never over it.
 * Asked for through the API (a row and a job in one transaction), run on the
 * server by restore-mailbox.sh with the server's own key (it may read its
 * repository), then Dovecot indexes the new folder.
 */
import { and, eq } from 'drizzle-orm';
import { audit, type Actor } from '../audit.ts';
import type { Database } from '../db/client.ts';
import { backupRestores, backupRuns, servers } from '../db/schema/index.ts';
import { AppError, ConflictError, NotFoundError, ValidationError } from '../errors.ts';
import type { JobQueue } from '../jobs/queue.ts';
import { runScript, withSession } from '../../provisioning/remote.ts';
import type { BackupDeps } from './deps.ts';
import { BACKUP_ENV_PATH, backupEnvFile, ensureRepository } from './repository.ts';
import { backupFiles } from './run-backup.ts';
import type { Clock } from '../clock.ts';

/** Maildir++ folder names the script accepts (it checks again). */
export const FOLDER_PATTERN = /^[A-Za-z0-9 _&,+-]{1,100}$/;
export type RestoreRow = typeof backupRestores.$inferSelect;

export interface RestoreRequest {
  server: { id: string; workspaceId: string; status: string };
  mailbox: { id: string; address: string };
  /** The backup run whose snapshot to restore. */
  backupId: string;
  folder?: string | undefined;
}

export async function requestMailboxRestore(
  deps: { database: Database; queue: JobQueue; clock: Clock },
  actor: Actor,
  req: RestoreRequest,
): Promise<RestoreRow> {
  if (req.folder !== undefined && !FOLDER_PATTERN.test(req.folder)) throw new ValidationError('folder: a folder name of letters, digits, spaces and _&,+-');
  if (!/^[0-9a-f-]{36}$/i.test(req.backupId)) throw new NotFoundError('Backup');
  const [run] = await deps.database.db
    .select()
    .from(backupRuns)
    .where(and(eq(backupRuns.id, req.backupId), eq(backupRuns.serverId, req.server.id), eq(backupRuns.status, 'succeeded')));
  if (!run?.resticSnapshotId) throw new NotFoundError('Backup');
  if (req.server.status !== 'ready') throw new ConflictError(`The server is ${req.server.status}; restores run on a ready server`, 'server_not_ready');
  const date = new Date(deps.clock.now()).toISOString().slice(0, 10);
  return deps.database.db.transaction(async (tx) => {
    const [row] = await tx
      .insert(backupRestores)
      .values({
        serverId: req.server.id,
        mailboxId: req.mailbox.id,
        address: req.mailbox.address,
        backupRunId: run.id,
        resticSnapshotId: run.resticSnapshotId!,
        folder: req.folder ?? null,
        targetFolder: `Restored ${date}`,
        simulated: run.simulated,
        requestedBy: actor.id,
      })
      .returning();
    await deps.queue.send('backups.restore_mailbox', { restoreId: row!.id }, { tx, singletonKey: row!.id });
    await audit(tx, actor, {
      action: 'mailbox.restore_requested',
      workspaceId: req.server.workspaceId,
      target: req.mailbox.id,
      details: { restoreId: row!.id, snapshot: run.resticSnapshotId, folder: req.folder ?? null },
    });
    return row!;
  });
}

/** The `backups.restore_mailbox` job. */
export async function runMailboxRestore(deps: BackupDeps, restoreId: string): Promise<RestoreRow | null> {
  const { db } = deps.database;
  const [restore] = await db.select().from(backupRestores).where(eq(backupRestores.id, restoreId));
  if (!restore || restore.status === 'succeeded') return restore ?? null;
  const [server] = await db.select().from(servers).where(eq(servers.id, restore.serverId));
  if (!server) return null;
  await db.update(backupRestores).set({ status: 'running' }).where(eq(backupRestores.id, restoreId));
  try {
    const repo = await ensureRepository(deps, server.id);
    const env = await backupEnvFile(deps, server, repo);
    const stdout = await withSession(deps.provisioning, server, async (session) => {
      await session.upload([{ path: BACKUP_ENV_PATH, content: env, mode: 0o600 }, ...backupFiles(server.hostname)]);
      const request = [restore.resticSnapshotId, restore.address, restore.targetFolder.replace('Restored ', ''), restore.folder ?? ''].join(' ').trim();
      return runScript(session, 'restore-mailbox.sh', (line) => deps.log.info({ serverId: server.id, restoreId }, line), `${request}\n`);
    });
    const out = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as { restored?: number };
    if (typeof out.restored !== 'number')
      throw new AppError({ code: 'restore_output_invalid', status: 502, title: 'Restore output unreadable', detail: 'restore-mailbox.sh printed no result' });
    const [done] = await db
      .update(backupRestores)
      .set({ status: 'succeeded', restoredMessages: out.restored, finishedAt: new Date(deps.clock.now()), error: null })
      .where(eq(backupRestores.id, restoreId))
      .returning();
    return done!;
  } catch (err) {
    await db
      .update(backupRestores)
      .set({ status: 'failed', finishedAt: new Date(deps.clock.now()), error: (err instanceof Error ? err.message : String(err)).slice(0, 2000) })
      .where(eq(backupRestores.id, restoreId));
    throw err;
  }
}
