/** Mailboxes of a server: create (password shown once), list, delete, reset and export the password, webmail login. */
import { createRoute, z } from '@hono/zod-openapi';
import { issueWebmailLogin } from '../../mailboxes/webmail.ts';
import { LocalPart } from '../../mailboxes/local-part.ts';
import {
  assignMailbox,
  createMailbox,
  deleteMailbox,
  exportMailboxPassword,
  listMailboxes,
  presentMailbox,
  resetMailboxPassword,
} from '../../mailboxes/service.ts';
import { authorizeWorkspace } from '../../workspaces/access.ts';
import type { ApiDeps, ProvisioningApiDeps } from '../deps.ts';
import type { App, AppEnv } from '../env.ts';
import type { Context } from 'hono';
import { RateLimitedError } from '../../errors.ts';
import { bearer, jsonBody, jsonResponse, pathId, problems, ServerParams } from '../openapi.ts';

const MailboxParams = ServerParams.extend({ mb: pathId('mb') });
export const Mailbox = z
  .object({
    id: z.string(),
    serverId: z.string(),
    address: z.string(),
    localPart: z.string(),
    displayName: z.string().nullable(),
    assigneeUserId: z
      .string()
      .nullable()
      .openapi({ description: 'The member this mailbox belongs to; besides owners and admins, only they may open its webmail' }),
    quotaMb: z.number(),
    state: z.enum(['active', 'deleting']),
    sync: z.object({ status: z.enum(['pending', 'applied', 'failed']), error: z.string().nullable(), appliedAt: z.string().nullable() }),
    mainPasswordForClients: z.boolean().openapi({ description: 'false: IMAP and SMTP clients must use app passwords; the webmail keeps working' }),
    usage: z
      .object({ usedBytes: z.number(), collectedAt: z.string() })
      .nullable()
      .openapi({ description: 'Storage in use as the server reported it (doveadm quota get); null until collected' }),
    createdAt: z.string(),
  })
  .openapi('Mailbox');
const AssigneeUserId = z.uuid().nullable();
const WithPassword = jsonResponse(z.object({ mailbox: Mailbox, password: z.string() }), 'The mailbox and its password, shown only now');

const tag = ['mailboxes'];
const base = '/v1/workspaces/{ws}/servers/{id}/mailboxes';
const routes = {
  create: createRoute({
    method: 'post',
    path: base,
    tags: tag,
    security: bearer,
    summary: 'Create a mailbox (its generated password is shown once)',
    request: {
      params: ServerParams,
      body: jsonBody(
        z.strictObject({
          localPart: LocalPart,
          displayName: z
            .string()
            .trim()
            .min(1)
            .max(100)
            .regex(/^[^\r\n<>"]*$/, 'no line breaks, <, > or "')
            .optional(),
          assigneeUserId: AssigneeUserId.optional(),
        }),
      ),
    },
    responses: { 201: WithPassword, ...problems(401, 403, 404, 409) },
  }),
  list: createRoute({
    method: 'get',
    path: base,
    tags: tag,
    security: bearer,
    summary: 'Mailboxes of a server with their sync status',
    request: { params: ServerParams },
    responses: { 200: jsonResponse(z.object({ mailboxes: z.array(Mailbox) }), 'Mailboxes'), ...problems(401, 403, 404) },
  }),
  remove: createRoute({
    method: 'delete',
    path: `${base}/{mb}`,
    tags: tag,
    security: bearer,
    summary: 'Delete a mailbox (removed from the server by a sync job)',
    request: { params: MailboxParams },
    responses: { 202: { description: 'Deletion under way' }, ...problems(401, 403, 404, 409) },
  }),
  assign: createRoute({
    method: 'patch',
    path: `${base}/{mb}`,
    tags: tag,
    security: bearer,
    summary: 'Assign the mailbox to a member of the workspace (or to nobody)',
    request: { params: MailboxParams, body: jsonBody(z.strictObject({ assigneeUserId: AssigneeUserId })) },
    responses: { 200: jsonResponse(z.object({ mailbox: Mailbox }), 'The mailbox'), ...problems(401, 403, 404) },
  }),
  reset: createRoute({
    method: 'post',
    path: `${base}/{mb}/password/reset`,
    tags: tag,
    security: bearer,
    summary: 'Replace the password with a new generated one (shown once)',
    request: { params: MailboxParams },
    responses: { 200: WithPassword, ...problems(401, 403, 404, 409) },
  }),
  export: createRoute({
    method: 'post',
    path: `${base}/{mb}/password/export`,
    tags: tag,
    security: bearer,
    summary: 'Reveal the current password (owners and admins; rate-limited; audited with the reason)',
    request: { params: MailboxParams, body: jsonBody(z.strictObject({ reason: z.string().trim().min(3).max(200) })) },
    responses: { 200: jsonResponse(z.object({ address: z.string(), password: z.string() }), 'The password'), ...problems(401, 403, 404, 429) },
  }),
  webmail: createRoute({
    method: 'post',
    path: `${base}/{mb}/webmail-login`,
    tags: tag,
    security: bearer,
    summary: 'A single-use webmail login link (valid 60 s at most): owners, admins, and the member the mailbox is assigned to',
    request: { params: MailboxParams },
    responses: { 200: jsonResponse(z.object({ url: z.string(), expiresAt: z.string() }), 'Open url in a browser'), ...problems(401, 403, 404, 409) },
  }),
};

export function registerMailboxRoutes(app: App, deps: ApiDeps, p: ProvisioningApiDeps): void {
  const { db } = deps;
  const m = p.mailboxes;
  // Per person: password exports are rare; a burst of them is someone harvesting. Only exports
  // count: a typo in the body (refused by validation before the handler), a mailbox that does not
  // exist or a refusal must not use up the quota of the person who then needs a real export.
  const exportQuota = async <T>(c: Context<AppEnv>, reveal: () => Promise<T>): Promise<T> => {
    const principal = c.get('principal');
    const key = `${principal.kind}:${principal.kind === 'user' ? principal.userId : principal.keyId}`;
    const waitMs = deps.limiters.passwordExport.hit(key);
    if (waitMs > 0) throw new RateLimitedError(waitMs, `Password export limit reached; retry in ${Math.ceil(waitMs / 1000)} s`);
    try {
      return await reveal();
    } catch (err) {
      deps.limiters.passwordExport.refund(key);
      throw err;
    }
  };

  app.openapi(routes.create, async (c) => {
    const { ws, id } = c.req.valid('param');
    const access = await authorizeWorkspace(db, c.get('principal'), ws, 'mailboxes.manage');
    const { mailbox, password } = await createMailbox(m, c.get('actor'), access, id, c.req.valid('json'));
    return c.json({ mailbox: presentMailbox(mailbox), password }, 201);
  });
  app.openapi(routes.list, async (c) => {
    const { ws, id } = c.req.valid('param');
    const access = await authorizeWorkspace(db, c.get('principal'), ws, 'mailboxes.read');
    return c.json({ mailboxes: (await listMailboxes(db, access, id)).map(presentMailbox) }, 200);
  });
  app.openapi(routes.remove, async (c) => {
    const { ws, id, mb } = c.req.valid('param');
    const access = await authorizeWorkspace(db, c.get('principal'), ws, 'mailboxes.manage');
    await deleteMailbox(m, c.get('actor'), access, id, mb);
    return c.body(null, 202);
  });
  app.openapi(routes.assign, async (c) => {
    const { ws, id, mb } = c.req.valid('param');
    const access = await authorizeWorkspace(db, c.get('principal'), ws, 'mailboxes.manage');
    const mailbox = await assignMailbox(m, c.get('actor'), access, id, mb, c.req.valid('json').assigneeUserId);
    return c.json({ mailbox: presentMailbox(mailbox) }, 200);
  });
  app.openapi(routes.reset, async (c) => {
    const { ws, id, mb } = c.req.valid('param');
    const access = await authorizeWorkspace(db, c.get('principal'), ws, 'mailboxes.manage');
    const { mailbox, password } = await resetMailboxPassword(m, c.get('actor'), access, id, mb);
    return c.json({ mailbox: presentMailbox(mailbox), password }, 200);
  });
  app.openapi(routes.export, async (c) => {
    const { ws, id, mb } = c.req.valid('param');
    const access = await authorizeWorkspace(db, c.get('principal'), ws, 'mailboxes.exportPassword');
    const reason = c.req.valid('json').reason;
    return c.json(await exportQuota(c, () => exportMailboxPassword(m, c.get('actor'), access, id, mb, reason)), 200);
  });
  app.openapi(routes.webmail, async (c) => {
    const { ws, id, mb } = c.req.valid('param');
    const access = await authorizeWorkspace(db, c.get('principal'), ws, 'mailboxes.webmail');
    return c.json(await issueWebmailLogin(m, c.get('actor'), access, id, mb), 200);
  });
}
