/** Aliases, the catch-all, forwarding and the vacation reply of a server's mailboxes (src/addresses/). */
import { createRoute, z } from '@hono/zod-openapi';
import {
  createAlias,
  deleteAlias,
  listAddresses,
  removeMailboxSetting,
  setCatchAll,
  setForward,
  setVacation,
  type AddressDeps,
} from '../../addresses/service.ts';
import { ForwardTarget, OneLine, Text, Day } from '../../addresses/input.ts';
import { LocalPart } from '../../mailboxes/local-part.ts';
import { authorizeWorkspace } from '../../workspaces/access.ts';
import type { ApiDeps, ProvisioningApiDeps } from '../deps.ts';
import type { App } from '../env.ts';
import { bearer, jsonBody, jsonResponse, pathId, problems, ServerParams } from '../openapi.ts';

const MailboxParams = ServerParams.extend({ mb: pathId('mb') });
const AliasParams = ServerParams.extend({ alias: pathId('alias') });
const Sync = z.object({ status: z.enum(['pending', 'applied']), appliedAt: z.string().nullable() });
const Addresses = z
  .object({
    domain: z.string(),
    aliases: z.array(z.object({ id: z.string(), address: z.string(), localPart: z.string(), mailboxId: z.string(), sync: Sync, createdAt: z.string() })),
    catchAll: z.object({ mailboxId: z.string(), address: z.string(), sync: Sync }).nullable(),
    forwards: z.array(z.object({ mailboxId: z.string(), target: z.string(), keepCopy: z.boolean(), sync: Sync })),
    vacations: z.array(
      z.object({ mailboxId: z.string(), startsOn: z.string(), endsOn: z.string(), subject: z.string(), message: z.string(), days: z.number(), sync: Sync }),
    ),
  })
  .openapi('Addresses');

const tag = ['addresses'];
const base = '/v1/workspaces/{ws}/servers/{id}';
const accepted = { 202: { description: 'Saved; the server gets it with the next sync (see `sync`)' } };
const routes = {
  list: createRoute({
    method: 'get',
    path: `${base}/addresses`,
    tags: tag,
    security: bearer,
    summary: 'Aliases, catch-all, forwards and vacation replies of the server, with their sync state',
    request: { params: ServerParams },
    responses: { 200: jsonResponse(Addresses, 'Addresses'), ...problems(401, 403, 404) },
  }),
  createAlias: createRoute({
    method: 'post',
    path: `${base}/aliases`,
    tags: tag,
    security: bearer,
    summary: 'Add an alias of a mailbox: mail to it arrives in the mailbox, which may also send as it (and only as its own addresses)',
    request: { params: ServerParams, body: jsonBody(z.strictObject({ localPart: LocalPart, mailboxId: z.uuid() })) },
    responses: { 201: jsonResponse(z.object({ id: z.string(), address: z.string() }), 'The alias'), ...problems(401, 403, 404, 409) },
  }),
  deleteAlias: createRoute({
    method: 'delete',
    path: `${base}/aliases/{alias}`,
    tags: tag,
    security: bearer,
    summary: 'Remove an alias',
    request: { params: AliasParams },
    responses: { ...accepted, ...problems(401, 403, 404, 409) },
  }),
  catchAll: createRoute({
    method: 'put',
    path: `${base}/catch-all`,
    tags: tag,
    security: bearer,
    summary: 'Send mail for unknown addresses of the domain to one mailbox (`mailboxId: null`, the default, refuses them at RCPT)',
    request: { params: ServerParams, body: jsonBody(z.strictObject({ mailboxId: z.uuid().nullable() })) },
    responses: { ...accepted, ...problems(401, 403, 404, 409) },
  }),
  setForward: createRoute({
    method: 'put',
    path: `${base}/mailboxes/{mb}/forward`,
    tags: tag,
    security: bearer,
    summary: "Forward the mailbox's mail to an outside address (SRS-rewritten; never what Rspamd marks as spam), keeping a copy or not",
    request: { params: MailboxParams, body: jsonBody(z.strictObject({ target: ForwardTarget, keepCopy: z.boolean().default(true) })) },
    responses: { ...accepted, ...problems(401, 403, 404, 409) },
  }),
  removeForward: createRoute({
    method: 'delete',
    path: `${base}/mailboxes/{mb}/forward`,
    tags: tag,
    security: bearer,
    summary: 'Stop forwarding',
    request: { params: MailboxParams },
    responses: { ...accepted, ...problems(401, 403, 404, 409) },
  }),
  setVacation: createRoute({
    method: 'put',
    path: `${base}/mailboxes/{mb}/vacation`,
    tags: tag,
    security: bearer,
    summary: 'Vacation auto-reply between two dates (Sieve, RFC 5230): once per sender every `days`, never to lists, bulk mail or bounces',
    request: {
      params: MailboxParams,
      body: jsonBody(z.strictObject({ startsOn: Day, endsOn: Day, subject: OneLine, message: Text, days: z.number().int().min(1).max(30).default(7) })),
    },
    responses: { ...accepted, ...problems(401, 403, 404, 409) },
  }),
  removeVacation: createRoute({
    method: 'delete',
    path: `${base}/mailboxes/{mb}/vacation`,
    tags: tag,
    security: bearer,
    summary: 'Turn the vacation reply off',
    request: { params: MailboxParams },
    responses: { ...accepted, ...problems(401, 403, 404, 409) },
  }),
};

export function registerAddressRoutes(app: App, deps: ApiDeps, p: ProvisioningApiDeps): void {
  const { db } = deps;
  const a: AddressDeps = { database: p.mailboxes.database, queue: p.mailboxes.queue, limitsOf: p.mailboxes.limitsOf };
  const manage = (principal: Parameters<typeof authorizeWorkspace>[1], ws: string) => authorizeWorkspace(db, principal, ws, 'mailboxes.manage');

  app.openapi(routes.list, async (c) => {
    const { ws, id } = c.req.valid('param');
    const access = await authorizeWorkspace(db, c.get('principal'), ws, 'mailboxes.read');
    return c.json(await listAddresses(db, access, id), 200);
  });
  app.openapi(routes.createAlias, async (c) => {
    const { ws, id } = c.req.valid('param');
    return c.json(await createAlias(a, c.get('actor'), await manage(c.get('principal'), ws), id, c.req.valid('json')), 201);
  });
  app.openapi(routes.deleteAlias, async (c) => {
    const { ws, id, alias } = c.req.valid('param');
    await deleteAlias(a, c.get('actor'), await manage(c.get('principal'), ws), id, alias);
    return c.body(null, 202);
  });
  app.openapi(routes.catchAll, async (c) => {
    const { ws, id } = c.req.valid('param');
    await setCatchAll(a, c.get('actor'), await manage(c.get('principal'), ws), id, c.req.valid('json').mailboxId);
    return c.body(null, 202);
  });
  app.openapi(routes.setForward, async (c) => {
    const { ws, id, mb } = c.req.valid('param');
    await setForward(a, c.get('actor'), await manage(c.get('principal'), ws), id, mb, c.req.valid('json'));
    return c.body(null, 202);
  });
  app.openapi(routes.removeForward, async (c) => {
    const { ws, id, mb } = c.req.valid('param');
    await removeMailboxSetting(a, c.get('actor'), await manage(c.get('principal'), ws), id, mb, 'forward');
    return c.body(null, 202);
  });
  app.openapi(routes.setVacation, async (c) => {
    const { ws, id, mb } = c.req.valid('param');
    await setVacation(a, c.get('actor'), await manage(c.get('principal'), ws), id, mb, c.req.valid('json'));
    return c.body(null, 202);
  });
  app.openapi(routes.removeVacation, async (c) => {
    const { ws, id, mb } = c.req.valid('param');
    await removeMailboxSetting(a, c.get('actor'), await manage(c.get('principal'), ws), id, mb, 'vacation');
    return c.body(null, 202);
  });
}
