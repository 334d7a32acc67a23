/** The junk score of a server's domain (issue 23): read by anyone in the workspace, set by owners, admins and write keys. */
import { createRoute, z } from '@hono/zod-openapi';
import { JUNK_SCORE_RANGE } from '../../mailstack/mail-guard-files.ts';
import { getSpamSettings, setJunkScore } from '../../mailboxes/spam-settings.ts';
import { authorizeWorkspace } from '../../workspaces/access.ts';
import type { ApiDeps, ProvisioningApiDeps } from '../deps.ts';
import type { App } from '../env.ts';
import { bearer, jsonBody, jsonResponse, problems, ServerParams } from '../openapi.ts';

const SpamSettings = z
  .object({
    domain: z.string(),
    junkScore: z.number().openapi({ description: 'Rspamd score from which mail for the domain is filed into Junk (Rspamd rejects from 15)' }),
    isDefault: z.boolean(),
    updatedAt: z.string().nullable(),
  })
  .openapi('SpamSettings');

const tag = ['mailboxes'];
const path = '/v1/workspaces/{ws}/servers/{id}/spam-settings';
const routes = {
  get: createRoute({
    method: 'get',
    path,
    tags: tag,
    security: bearer,
    summary: "The domain's junk score",
    request: { params: ServerParams },
    responses: { 200: jsonResponse(SpamSettings, 'Spam settings'), ...problems(401, 403, 404) },
  }),
  put: createRoute({
    method: 'put',
    path,
    tags: tag,
    security: bearer,
    summary: "Set the domain's junk score (applied by the next mailbox sync)",
    request: { params: ServerParams, body: jsonBody(z.strictObject({ junkScore: z.number().min(JUNK_SCORE_RANGE.min).max(JUNK_SCORE_RANGE.max) })) },
    responses: { 200: jsonResponse(SpamSettings, 'Spam settings'), ...problems(401, 403, 404, 409) },
  }),
};

export function registerSpamSettingsRoutes(app: App, deps: ApiDeps, p: ProvisioningApiDeps): void {
  const { db } = deps;
  app.openapi(routes.get, async (c) => {
    const { ws, id } = c.req.valid('param');
    const access = await authorizeWorkspace(db, c.get('principal'), ws, 'mailboxes.read');
    return c.json(await getSpamSettings(db, access, id), 200);
  });
  app.openapi(routes.put, async (c) => {
    const { ws, id } = c.req.valid('param');
    const access = await authorizeWorkspace(db, c.get('principal'), ws, 'mailboxes.spamSettings');
    return c.json(await setJunkScore(p.mailboxes, c.get('actor'), access, id, c.req.valid('json').junkScore), 200);
  });
}
