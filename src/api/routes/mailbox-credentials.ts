/**
 * App passwords of a mailbox and its main password for mail clients (issue 23): owners, admins
 * and the member the mailbox is assigned to; people only (API keys never handle credentials).
 * The password of a new app password is in the creation answer only.
 */
import { createRoute, z } from '@hono/zod-openapi';
import { createAppPassword, listAppPasswords, presentAppPassword, revokeAppPassword, setMainPasswordForClients } from '../../mailboxes/app-passwords.ts';
import { presentMailbox } from '../../mailboxes/service.ts';
import { authorizeWorkspace } from '../../workspaces/access.ts';
import type { ApiDeps, ProvisioningApiDeps } from '../deps.ts';
import type { App } from '../env.ts';
import { bearer, jsonBody, jsonResponse, pathId, problems, ServerParams } from '../openapi.ts';
import { Mailbox } from './mailboxes.ts';

const MailboxParams = ServerParams.extend({ mb: pathId('mb') });
const AppPasswordParams = MailboxParams.extend({ ap: pathId('ap') });
const AppPassword = z
  .object({
    id: z.string(),
    mailboxId: z.string(),
    name: z.string(),
    scopes: z.array(z.enum(['imap', 'smtp'])),
    createdAt: z.string(),
    revokedAt: z.string().nullable(),
    lastUsed: z
      .object({ at: z.string(), ip: z.string().nullable(), service: z.string().nullable() })
      .nullable()
      .openapi({ description: 'Last successful login with it, as the server recorded it (collected periodically)' }),
  })
  .openapi('AppPassword');
const NewAppPassword = z.strictObject({
  name: z
    .string()
    .trim()
    .min(1)
    .max(60)
    .regex(/^[^\r\n<>"]*$/, 'no line breaks, <, > or "'),
  scopes: z
    .array(z.enum(['imap', 'smtp']))
    .min(1)
    .max(2)
    .openapi({ description: 'imap, smtp (submission on 587/465) or both' }),
});

const tag = ['mailboxes'];
const base = '/v1/workspaces/{ws}/servers/{id}/mailboxes/{mb}';
const routes = {
  list: createRoute({
    method: 'get',
    path: `${base}/app-passwords`,
    tags: tag,
    security: bearer,
    summary: 'App passwords of a mailbox (never the passwords themselves)',
    request: { params: MailboxParams },
    responses: { 200: jsonResponse(z.object({ appPasswords: z.array(AppPassword) }), 'App passwords, revoked ones included'), ...problems(401, 403, 404) },
  }),
  create: createRoute({
    method: 'post',
    path: `${base}/app-passwords`,
    tags: tag,
    security: bearer,
    summary: 'Create an app password scoped to IMAP, SMTP or both (shown once)',
    request: { params: MailboxParams, body: jsonBody(NewAppPassword) },
    responses: {
      201: jsonResponse(z.object({ appPassword: AppPassword, password: z.string() }), 'The app password, shown only now'),
      ...problems(401, 403, 404, 409),
    },
  }),
  revoke: createRoute({
    method: 'delete',
    path: `${base}/app-passwords/{ap}`,
    tags: tag,
    security: bearer,
    summary: 'Revoke an app password (removed from the server by a sync job)',
    request: { params: AppPasswordParams },
    responses: { 200: jsonResponse(z.object({ appPassword: AppPassword }), 'The revoked app password'), ...problems(401, 403, 404, 409) },
  }),
  mainPassword: createRoute({
    method: 'put',
    path: `${base}/main-password-for-clients`,
    tags: tag,
    security: bearer,
    summary: 'Allow or refuse the main password for IMAP and SMTP clients (refused: only app passwords work there; the webmail keeps working)',
    request: { params: MailboxParams, body: jsonBody(z.strictObject({ enabled: z.boolean() })) },
    responses: { 200: jsonResponse(z.object({ mailbox: Mailbox }), 'The mailbox'), ...problems(401, 403, 404, 409) },
  }),
};

export function registerMailboxCredentialRoutes(app: App, deps: ApiDeps, p: ProvisioningApiDeps): void {
  const { db } = deps;
  const m = p.mailboxes;
  app.openapi(routes.list, async (c) => {
    const { ws, id, mb } = c.req.valid('param');
    const access = await authorizeWorkspace(db, c.get('principal'), ws, 'mailboxes.credentials');
    return c.json({ appPasswords: (await listAppPasswords(db, access, id, mb)).map(presentAppPassword) }, 200);
  });
  app.openapi(routes.create, async (c) => {
    const { ws, id, mb } = c.req.valid('param');
    const access = await authorizeWorkspace(db, c.get('principal'), ws, 'mailboxes.credentials');
    const { appPassword, password } = await createAppPassword(m, c.get('actor'), access, id, mb, c.req.valid('json'));
    return c.json({ appPassword: presentAppPassword(appPassword), password }, 201);
  });
  app.openapi(routes.revoke, async (c) => {
    const { ws, id, mb, ap } = c.req.valid('param');
    const access = await authorizeWorkspace(db, c.get('principal'), ws, 'mailboxes.credentials');
    return c.json({ appPassword: presentAppPassword(await revokeAppPassword(m, c.get('actor'), access, id, mb, ap)) }, 200);
  });
  app.openapi(routes.mainPassword, async (c) => {
    const { ws, id, mb } = c.req.valid('param');
    const access = await authorizeWorkspace(db, c.get('principal'), ws, 'mailboxes.credentials');
    const mailbox = await setMainPasswordForClients(m, c.get('actor'), access, id, mb, c.req.valid('json').enabled);
    return c.json({ mailbox: presentMailbox(mailbox) }, 200);
  });
}
