/**
 * Download a mailbox from a backup (src/backups/download-mailbox.ts):
 * POST …/mailboxes/{mb}/download {backupId} makes a link that works once, for 15
 * minutes; GET …/mailbox-downloads/{download} streams the Maildir as a tar.gz from the
 * snapshot. Both ask for the caller again (owners and admins, people only): the link
 * is no bearer secret, so it can sit in a log or a browser history harmlessly.
 */
import { Readable } from 'node:stream';
import { createRoute, z } from '@hono/zod-openapi';
import type { BackupDeps } from '../../backups/deps.ts';
import { archiveName, claimMailboxDownload, requestMailboxDownload, streamMailboxArchive, type DownloadRow } from '../../backups/download-mailbox.ts';
import { findMailbox } from '../../mailboxes/service.ts';
import { findServer } from '../../servers/views.ts';
import { authorizeWorkspace } from '../../workspaces/access.ts';
import type { App } from '../env.ts';
import { bearer, jsonResponse, pathId, problems, ServerParams } from '../openapi.ts';

export const DownloadSchema = z
  .object({
    id: z.string(),
    address: z.string(),
    backupId: z.string().nullable(),
    snapshotId: z.string(),
    url: z.string().openapi({ description: 'GET it (with the same credentials) once, before expiresAt: a tar.gz of the Maildir' }),
    expiresAt: z.string(),
    usedAt: z.string().nullable(),
  })
  .openapi('MailboxDownload');

export const downloadPath = (workspaceId: string, row: DownloadRow) => `/v1/workspaces/${workspaceId}/servers/${row.serverId}/mailbox-downloads/${row.id}`;

const view = (workspaceId: string, row: DownloadRow) => ({
  id: row.id,
  address: row.address,
  backupId: row.backupRunId,
  snapshotId: row.resticSnapshotId,
  url: downloadPath(workspaceId, row),
  expiresAt: row.expiresAt.toISOString(),
  usedAt: row.usedAt?.toISOString() ?? null,
});

const routes = {
  request: createRoute({
    method: 'post',
    path: '/v1/workspaces/{ws}/servers/{id}/mailboxes/{mb}/download',
    tags: ['servers'],
    security: bearer,
    summary: "A single-use, 15-minute link to a mailbox's Maildir from a backup, as a tar.gz",
    request: {
      params: ServerParams.extend({ mb: pathId('mb') }),
      body: {
        content: {
          'application/json': {
            schema: z
              .object({
                backupId: z.string().max(64).openapi({ description: 'id of a successful backup (GET …/backups, runs[].id)' }),
              })
              .strict(),
          },
        },
        required: true,
      },
    },
    responses: { 201: jsonResponse(z.object({ download: DownloadSchema }), 'The link; fetch its url once'), ...problems(400, 401, 403, 404, 409) },
  }),
  fetch: createRoute({
    method: 'get',
    path: '/v1/workspaces/{ws}/servers/{id}/mailbox-downloads/{download}',
    tags: ['servers'],
    security: bearer,
    summary: 'The mailbox archive (once): var/vmail/<domain>/<user>/Maildir/… as in the snapshot, every message file byte for byte',
    request: { params: ServerParams.extend({ download: pathId('download') }) },
    responses: {
      200: { description: 'gzip-compressed tar of the Maildir', content: { 'application/gzip': { schema: z.string().openapi({ format: 'binary' }) } } },
      ...problems(401, 403, 404, 409, 410, 502),
    },
  }),
};

export function registerMailboxDownloadRoutes(app: App, deps: BackupDeps): void {
  const db = deps.database.db;
  app.openapi(routes.request, async (c) => {
    const { ws, id, mb } = c.req.valid('param');
    const access = await authorizeWorkspace(db, c.get('principal'), ws, 'backups.download');
    const server = await findServer(db, id, access.workspaceId);
    const mailbox = await findMailbox(db, server.id, mb);
    const row = await requestMailboxDownload({ database: deps.database, clock: deps.clock }, c.get('actor'), {
      server,
      mailbox,
      backupId: c.req.valid('json').backupId,
    });
    return c.json({ download: view(access.workspaceId, row) }, 201);
  });

  app.openapi(routes.fetch, async (c) => {
    const { ws, id, download } = c.req.valid('param');
    const access = await authorizeWorkspace(db, c.get('principal'), ws, 'backups.download');
    const server = await findServer(db, id, access.workspaceId);
    const row = await claimMailboxDownload(db, server.id, download, deps.clock.now());
    const archive = await streamMailboxArchive(deps, server, row);
    return new Response(Readable.toWeb(archive) as ReadableStream, {
      status: 200,
      headers: { 'content-type': 'application/gzip', 'content-disposition': `attachment; filename="${archiveName(row)}"`, 'cache-control': 'no-store' },
    }) as never;
  });
}
