/**
 * Imports of a mailbox from another provider (issue 23): POST starts one (the old IMAP server,
 * user and password, given once), GET lists them with their state and per-folder counts.
 * Owners, admins and the member the mailbox is assigned to; people only, like the mailbox's
 * other credentials. The password is in the request only: no answer ever holds it.
 */
import { createRoute, z } from '@hono/zod-openapi';
import { listImports, presentImport, requestImport } from '../../mailboxes/imports.ts';
import { authorizeWorkspace } from '../../workspaces/access.ts';
import type { ApiDeps, ProvisioningApiDeps } from '../deps.ts';
import type { App } from '../env.ts';
import { bearer, jsonBody, jsonResponse, pathId, problems, ServerParams } from '../openapi.ts';

const MailboxParams = ServerParams.extend({ mb: pathId('mb') });
const NO_CONTROL = /^[^\u0000-\u001f\u007f]*$/;

const MailboxImport = z
  .object({
    id: z.string(),
    mailboxId: z.string(),
    status: z.enum(['queued', 'running', 'succeeded', 'failed']),
    source: z.object({
      host: z.string(),
      address: z.string().openapi({ description: 'The public address the host resolved to when asked: the only one the run connects to' }),
      port: z.number(),
      security: z.enum(['imaps', 'starttls']),
      username: z.string(),
    }),
    progress: z.string().nullable().openapi({ description: 'What the run is doing now (its latest progress line)' }),
    folders: z.array(
      z.object({ name: z.string(), messages: z.number().openapi({ description: 'Messages in the folder here after the run' }), copied: z.number() }),
    ),
    messagesCopied: z.number().nullable(),
    simulated: z.boolean().openapi({ description: 'Answered by an emulated sandbox host: nothing was copied' }),
    error: z.string().nullable(),
    requestedAt: z.string(),
    startedAt: z.string().nullable(),
    finishedAt: z.string().nullable(),
  })
  .openapi('MailboxImport');

const NewImport = z.strictObject({
  host: z.string().trim().min(1).max(253).openapi({ description: "The old provider's IMAP server", example: 'imap.example.com' }),
  port: z.number().int().min(1).max(65535).optional().openapi({ description: 'Default 993 (imaps), or 143 with starttls' }),
  security: z
    .enum(['imaps', 'starttls'])
    .optional()
    .openapi({ description: 'TLS from the first byte (imaps) or STARTTLS; never without TLS. Default: by port' }),
  username: z.string().min(1).max(320).regex(NO_CONTROL, 'no control characters'),
  password: z
    .string()
    .min(1)
    .max(1024)
    .regex(NO_CONTROL, 'no control characters')
    .openapi({ description: 'Used for this run only: deleted when it ends, never shown again; a new run asks for it again' }),
});

const tag = ['mailboxes'];
const path = '/v1/workspaces/{ws}/servers/{id}/mailboxes/{mb}/imports';
const routes = {
  list: createRoute({
    method: 'get',
    path,
    tags: tag,
    security: bearer,
    summary: 'Imports of a mailbox from another provider, newest first (the latest 20)',
    request: { params: MailboxParams },
    responses: { 200: jsonResponse(z.object({ imports: z.array(MailboxImport) }), 'Imports'), ...problems(401, 403, 404) },
  }),
  create: createRoute({
    method: 'post',
    path,
    tags: tag,
    security: bearer,
    summary: 'Copy the mail of a mailbox at another provider into this one (again: only what is new); public IMAP servers only, over TLS',
    request: { params: MailboxParams, body: jsonBody(NewImport) },
    responses: { 202: jsonResponse(z.object({ import: MailboxImport }), 'Queued'), ...problems(401, 403, 404, 409, 422, 503) },
  }),
};

export function registerMailboxImportRoutes(app: App, deps: ApiDeps, p: ProvisioningApiDeps): void {
  const { db } = deps;
  app.openapi(routes.list, async (c) => {
    const { ws, id, mb } = c.req.valid('param');
    const access = await authorizeWorkspace(db, c.get('principal'), ws, 'mailboxes.credentials');
    return c.json({ imports: (await listImports(db, access, id, mb)).map(presentImport) }, 200);
  });
  app.openapi(routes.create, async (c) => {
    const { ws, id, mb } = c.req.valid('param');
    const access = await authorizeWorkspace(db, c.get('principal'), ws, 'mailboxes.credentials');
    const importDeps = { database: p.database, queue: p.queue, vault: p.mailboxes.vault, lookup: p.lookup, policy: deps.config.mailboxImport };
    const row = await requestImport(importDeps, c.get('actor'), access, id, mb, c.req.valid('json'));
    return c.json({ import: presentImport(row) }, 202);
  });
}
