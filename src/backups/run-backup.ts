/**
 * One backup of one server: the repository ensured, the env file and the current
 * backup script pushed (a server installed before backups existed gets them too),
 * backup.sh run over SSH, its manifest and restic's summary stored with the run.
 * A failure is recorded on the run and rethrown (the job's pg-boss retries decide
 * whether to try again); an alert is the caller's call (the last attempt opens one).
 */
import { and, desc, eq, gte } from 'drizzle-orm';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { runScript, SCRIPT_DIR, withSession } from '../../provisioning/remote.ts';
import { backupRuns, servers, type BackupManifest } from '../db/schema/index.ts';
import { AppError, NotFoundError } from '../errors.ts';
import { renderTemplate, TEMPLATES_DIR } from '../mailstack/render.ts';
import { backupAlertKey } from '../ops/alert-keys.ts';
import type { BackupDeps } from './deps.ts';
import { BACKUP_ENV_PATH, backupEnvFile, ensureRepository } from './repository.ts';

export type BackupRunRow = typeof backupRuns.$inferSelect;

const manifestSchema = z.object({
  version: z.literal(1),
  createdAt: z.string(),
  root: z
    .string()
    .regex(/^(\/[A-Za-z0-9._-]+)+$/)
    .refine((r) => !r.split('/').includes('..'), 'no ..')
    .optional(),
  mailboxes: z.record(z.string(), z.record(z.string(), z.object({ count: z.number().int().min(0), messages: z.record(z.string(), z.string()) }))),
});

/** What backup.sh prints on stdout (its last line). */
const outputSchema = z.object({
  snapshotId: z.string().regex(/^[0-9a-f]{8,64}$/),
  summary: z
    .object({ total_files_processed: z.number().optional(), total_bytes_processed: z.number().optional(), data_added: z.number().optional() })
    .passthrough(),
  manifest: manifestSchema,
  passes: z.number().int().optional(),
  vanished: z.number().int().optional(),
});

/** The scripts backups and restores run, rendered for this server (a server installed before backups existed gets them too). */
export function backupFiles(hostname: string) {
  const render = (template: string) => renderTemplate(readFileSync(new URL(template, TEMPLATES_DIR), 'utf8'), { hostname }, template);
  return [
    { path: `${SCRIPT_DIR}/backup.sh`, content: render('scripts/backup.sh'), mode: 0o755 },
    { path: `${SCRIPT_DIR}/restore-mailbox.sh`, content: render('scripts/restore-mailbox.sh'), mode: 0o755 },
    { path: `${SCRIPT_DIR}/restore-server.sh`, content: render('scripts/restore-server.sh'), mode: 0o755 },
    { path: '/opt/mailplane/libexec/backup-manifest.py', content: render('backup/backup-manifest.py'), mode: 0o755 },
  ];
}

export function parseBackupOutput(stdout: string) {
  const last = stdout.trim().split('\n').at(-1) ?? '';
  let json: unknown;
  try {
    json = JSON.parse(last);
  } catch {
    throw new AppError({ code: 'backup_output_invalid', status: 502, title: 'Backup output unreadable', detail: 'backup.sh printed no JSON result' });
  }
  const parsed = outputSchema.safeParse(json);
  if (!parsed.success)
    throw new AppError({
      code: 'backup_output_invalid',
      status: 502,
      title: 'Backup output unreadable',
      detail: `backup.sh result: ${parsed.error.issues[0]?.message ?? 'invalid'}`,
    });
  return parsed.data;
}

export async function runBackup(deps: BackupDeps, serverId: string, reason: string): Promise<BackupRunRow> {
  const { db } = deps.database;
  const [server] = await db.select().from(servers).where(eq(servers.id, serverId));
  if (!server) throw new NotFoundError('Server');
  const started = deps.clock.now();
  const [run] = await db
    .insert(backupRuns)
    .values({ serverId, reason, startedAt: new Date(started), simulated: deps.simulatedHosts })
    .returning();
  const log: string[] = [];
  try {
    const repo = await ensureRepository(deps, serverId);
    const env = await backupEnvFile(deps, server, repo);
    const stdout = await withSession(deps.provisioning, server, async (session) => {
      await session.upload([{ path: BACKUP_ENV_PATH, content: env, mode: 0o600 }, ...backupFiles(server.hostname)]);
      return runScript(session, 'backup.sh', (line) => log.push(line));
    });
    const out = parseBackupOutput(stdout);
    const finished = deps.clock.now();
    const [done] = await db
      .update(backupRuns)
      .set({
        status: 'succeeded',
        finishedAt: new Date(finished),
        durationMs: finished - started,
        resticSnapshotId: out.snapshotId,
        manifest: out.manifest as BackupManifest,
        sizeBytes: out.summary.total_bytes_processed ?? null,
        dataAddedBytes: out.summary.data_added ?? null,
        files: out.summary.total_files_processed ?? null,
      })
      .where(eq(backupRuns.id, run!.id))
      .returning();
    await deps.alerts.resolve(db, backupAlertKey('backup_failed', serverId));
    deps.log.info({ serverId, reason, snapshot: out.snapshotId, durationMs: finished - started, passes: out.passes }, 'backup succeeded');
    return done!;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    await db
      .update(backupRuns)
      .set({ status: 'failed', finishedAt: new Date(deps.clock.now()), durationMs: deps.clock.now() - started, error: message.slice(0, 2000) })
      .where(eq(backupRuns.id, run!.id));
    deps.log.warn({ err, serverId, reason, tail: log.slice(-5) }, 'backup failed');
    throw err;
  }
}

/** Opens (once) the ops alert of a server whose backups keep failing. */
export async function alertBackupFailed(deps: BackupDeps, serverId: string, error: string): Promise<void> {
  const [server] = await deps.database.db.select({ hostname: servers.hostname }).from(servers).where(eq(servers.id, serverId));
  await deps.alerts.open(deps.database.db, {
    kind: 'backup_failed',
    severity: 'critical',
    serverId,
    dedupeKey: backupAlertKey('backup_failed', serverId),
    message: `${server?.hostname ?? serverId}: backup failed after its retries (${error.slice(0, 300)})`,
    details: { error: error.slice(0, 1000) },
  });
}

export async function lastSuccessfulBackup(deps: Pick<BackupDeps, 'database'>, serverId: string, since?: Date): Promise<BackupRunRow | null> {
  const [row] = await deps.database.db
    .select()
    .from(backupRuns)
    .where(and(eq(backupRuns.serverId, serverId), eq(backupRuns.status, 'succeeded'), ...(since ? [gte(backupRuns.finishedAt, since)] : [])))
    .orderBy(desc(backupRuns.finishedAt))
    .limit(1);
  return row ?? null;
}
