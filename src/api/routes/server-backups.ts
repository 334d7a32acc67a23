/**
 * GET /v1/workspaces/{ws}/servers/{id}/backups: the server's backups (the latest,
 * its age and size, recent runs, the next scheduled one, the latest restore drill).
 * POST …/backups queues a backup now (owners, admins, write keys); support and ops
 * use POST /v1/admin/servers/{id}/backups.
 */
import { createRoute, z } from '@hono/zod-openapi';
import type { Clock } from '../../clock.ts';
import type { Database } from '../../db/client.ts';
import type { JobQueue } from '../../jobs/queue.ts';
import { FOLDER_PATTERN, requestMailboxRestore } from '../../backups/restore-mailbox.ts';
import { backupOverview, requestBackup, restoreView } from '../../backups/views.ts';
import { findMailbox } from '../../mailboxes/service.ts';
import { findServer } from '../../servers/views.ts';
import { authorizeWorkspace } from '../../workspaces/access.ts';
import type { App } from '../env.ts';
import { requireStaff } from '../middleware/authenticate.ts';
import { bearer, jsonResponse, pathId, problems, ServerParams } from '../openapi.ts';

const RunSchema = z
  .object({
    id: z.string(),
    reason: z.string().openapi({ description: 'daily, manual, before:<operation>, final' }),
    status: z.enum(['running', 'succeeded', 'failed']),
    startedAt: z.string(),
    finishedAt: z.string().nullable(),
    durationMs: z.number().nullable(),
    snapshotId: z.string().nullable().openapi({ description: 'restic snapshot id' }),
    sizeBytes: z.number().nullable().openapi({ description: 'Bytes the snapshot holds' }),
    dataAddedBytes: z.number().nullable().openapi({ description: 'New bytes this backup stored' }),
    files: z.number().nullable(),
    messages: z.number().nullable().openapi({ description: 'Messages in the manifest the server wrote before the backup' }),
    simulated: z.boolean().openapi({ description: 'Answered by an emulated sandbox host: no restic ran, nothing was stored' }),
    error: z.string().nullable(),
  })
  .openapi('BackupRun');

const DrillSchema = z
  .object({
    id: z.string(),
    status: z
      .enum(['running', 'passed', 'failed', 'skipped'])
      .openapi({ description: 'skipped: the snapshot is simulated (emulated host), there was nothing to restore' }),
    startedAt: z.string(),
    finishedAt: z.string().nullable(),
    snapshotId: z.string().nullable(),
    messagesCompared: z.number(),
    error: z.string().nullable(),
    details: z.record(z.string(), z.unknown()),
  })
  .openapi('BackupDrill');

export const RestoreSchema = z
  .object({
    id: z.string(),
    mailboxId: z.string().nullable(),
    address: z.string(),
    backupId: z.string().nullable(),
    snapshotId: z.string(),
    folder: z.string().nullable().openapi({ description: 'The folder restored; null: every folder' }),
    targetFolder: z.string().openapi({ description: 'Where the messages went, beside the current mail', example: 'Restored 2026-12-07' }),
    status: z.enum(['queued', 'running', 'succeeded', 'failed']),
    restoredMessages: z.number().nullable(),
    simulated: z.boolean().openapi({ description: 'From a simulated backup (emulated sandbox host): nothing to restore' }),
    error: z.string().nullable(),
    requestedAt: z.string(),
    finishedAt: z.string().nullable(),
  })
  .openapi('MailboxRestore');

export const BackupsSchema = z
  .object({
    configured: z.boolean().openapi({ description: 'false: no object storage is configured, nothing is backed up' }),
    simulated: z.boolean().openapi({ description: 'The servers are emulated sandbox hosts: backups are simulated and drills skipped' }),
    lastSuccess: RunSchema.nullable(),
    lastSuccessAgeSeconds: z.number().nullable(),
    nextScheduledAt: z.string().nullable().openapi({ description: 'The next daily backup (each server has its own minute of the day)' }),
    runs: z.array(RunSchema).openapi({ description: 'The latest 30 backups, newest first' }),
    lastDrill: DrillSchema.nullable(),
    restores: z.array(RestoreSchema).openapi({ description: 'The latest 10 mailbox restores, newest first' }),
    repository: z
      .object({
        region: z.string(),
        bucket: z.string(),
        createdAt: z.string(),
        lastCheck: z.object({ status: z.enum(['passed', 'failed']), at: z.string().nullable() }).nullable(),
        deleteAfter: z.string().nullable().openapi({ description: 'Deprovisioned: the final backup is deleted then' }),
        deletedAt: z.string().nullable().openapi({ description: 'When the last copy was deleted' }),
      })
      .nullable(),
  })
  .openapi('ServerBackups');

const Queued = z.object({ queued: z.boolean().openapi({ description: 'false: a backup is already queued' }) });
const tag = ['servers'];
const routes = {
  list: createRoute({
    method: 'get',
    path: '/v1/workspaces/{ws}/servers/{id}/backups',
    tags: tag,
    security: bearer,
    summary: 'Backups of a server: the latest, its age and size, recent runs, next scheduled, the latest restore drill',
    request: { params: ServerParams },
    responses: { 200: jsonResponse(BackupsSchema, "The server's backups"), ...problems(401, 403, 404) },
  }),
  run: createRoute({
    method: 'post',
    path: '/v1/workspaces/{ws}/servers/{id}/backups',
    tags: tag,
    security: bearer,
    summary: 'Back up a ready server now',
    request: { params: ServerParams },
    responses: { 202: jsonResponse(Queued, 'Queued; follow it with GET …/backups'), ...problems(401, 403, 404, 409) },
  }),
  restore: createRoute({
    method: 'post',
    path: '/v1/workspaces/{ws}/servers/{id}/mailboxes/{mb}/restore',
    tags: tag,
    security: bearer,
    summary: 'Restore a mailbox (or one folder) from a backup into a new folder "Restored YYYY-MM-DD", beside the current mail',
    request: {
      params: ServerParams.extend({ mb: pathId('mb') }),
      body: {
        content: {
          'application/json': {
            schema: z
              .object({
                backupId: z.string().max(64).openapi({ description: 'id of a successful backup (GET …/backups, runs[].id)' }),
                folder: z.string().regex(FOLDER_PATTERN).optional().openapi({ description: 'Only this folder (INBOX, Sent, …); absent: every folder' }),
              })
              .strict(),
          },
        },
        required: true,
      },
    },
    responses: {
      202: jsonResponse(z.object({ restore: RestoreSchema }), 'Queued; follow it in GET …/backups (restores)'),
      ...problems(400, 401, 403, 404, 409),
    },
  }),
  staffRun: createRoute({
    method: 'post',
    path: '/v1/admin/servers/{id}/backups',
    tags: ['admin'],
    security: bearer,
    summary: 'Back up a server now (support, ops)',
    request: { params: z.object({ id: pathId('id') }) },
    responses: { 202: jsonResponse(Queued, 'Queued'), ...problems(401, 403, 404, 409) },
  }),
};

export interface ServerBackupsDeps {
  database: Database;
  queue: JobQueue;
  storageConfigured: boolean;
  simulated: boolean;
  clock: Clock;
}

export function registerServerBackupRoutes(app: App, deps: ServerBackupsDeps): void {
  const db = deps.database.db;
  app.openapi(routes.list, async (c) => {
    const { ws, id } = c.req.valid('param');
    const access = await authorizeWorkspace(db, c.get('principal'), ws, 'backups.read');
    const server = await findServer(db, id, access.workspaceId);
    return c.json(await backupOverview({ db, storageConfigured: deps.storageConfigured, simulated: deps.simulated, clock: deps.clock }, server), 200);
  });

  app.openapi(routes.run, async (c) => {
    const { ws, id } = c.req.valid('param');
    const access = await authorizeWorkspace(db, c.get('principal'), ws, 'backups.run');
    const server = await findServer(db, id, access.workspaceId);
    return c.json({ queued: await requestBackup(deps, c.get('actor'), server) }, 202);
  });

  app.openapi(routes.restore, async (c) => {
    const { ws, id, mb } = c.req.valid('param');
    const body = c.req.valid('json');
    const access = await authorizeWorkspace(db, c.get('principal'), ws, 'backups.restore');
    const server = await findServer(db, id, access.workspaceId);
    const mailbox = await findMailbox(db, server.id, mb);
    const row = await requestMailboxRestore(deps, c.get('actor'), { server, mailbox, backupId: body.backupId, folder: body.folder });
    return c.json({ restore: restoreView(row) }, 202);
  });

  app.openapi(routes.staffRun, async (c) => {
    requireStaff(c, ['support', 'ops']);
    const server = await findServer(db, c.req.valid('param').id);
    return c.json({ queued: await requestBackup(deps, c.get('actor'), server) }, 202);
  });
}
