/** GDPR: export everything about me, erase my account, erase a workspace. */
import { createRoute, z } from '@hono/zod-openapi';
import { deleteCookie } from 'hono/cookie';
import { assertWorkspaceErasureConfirmed, requestAccountErasure, requestWorkspaceErasure } from '../../gdpr/erase.ts';
import { exportUserData } from '../../gdpr/export.ts';
import { authorizeWorkspace } from '../../workspaces/access.ts';
import type { ApiDeps, ProvisioningApiDeps } from '../deps.ts';
import type { App } from '../env.ts';
import { requireUser, SESSION_COOKIE } from '../middleware/authenticate.ts';
import { bearer, jsonBody, jsonResponse, problems, WorkspaceParam } from '../openapi.ts';

const tag = ['privacy'];
const Erasing = z.object({ status: z.literal('erasing'), workspaces: z.array(z.string()) });
const routes = {
  exportMe: createRoute({ method: 'get', path: '/v1/me/export', tags: tag, security: bearer,
    summary: 'Everything mailplane holds about you, as one JSON document (secrets are listed, never included)',
    responses: { 200: jsonResponse(z.record(z.string(), z.unknown()), 'The export'), ...problems(401, 403) } }),
  eraseMe: createRoute({ method: 'delete', path: '/v1/me', tags: tag, security: bearer,
    summary: 'Erase your account; workspaces you solely own are erased with it (servers deprovisioned, subscriptions cancelled)',
    request: { body: jsonBody(z.strictObject({ password: z.string().min(1).max(256) })) },
    responses: { 202: jsonResponse(Erasing, 'Erasure under way; you are signed out'), ...problems(401, 403) } }),
  eraseWorkspace: createRoute({ method: 'delete', path: '/v1/workspaces/{ws}', tags: tag, security: bearer,
    summary: 'Erase a workspace (owner), confirmed by its name typed back or your password: servers deprovisioned, subscriptions cancelled, then every row deleted',
    request: {
      params: WorkspaceParam,
      body: jsonBody(z.strictObject({
        confirm: z.string().max(200).optional().openapi({ description: 'The workspace name, typed back' }),
        password: z.string().min(1).max(256).optional().openapi({ description: 'Or your password' }),
      }).refine((b) => b.confirm !== undefined || b.password !== undefined, { message: 'confirm with the workspace name (confirm) or your password (password)' })),
    },
    responses: { 202: jsonResponse(Erasing, 'Erasure under way'), ...problems(401, 403, 404) } }),
};

export function registerGdprRoutes(app: App, deps: ApiDeps, p: ProvisioningApiDeps): void {
  app.openapi(routes.exportMe, async (c) => {
    const user = requireUser(c);
    c.header('content-disposition', `attachment; filename="mailplane-export-${user.userId}.json"`);
    return c.json(await exportUserData(deps.db, user.userId), 200);
  });
  app.openapi(routes.eraseMe, async (c) => {
    const user = requireUser(c);
    const result = await requestAccountErasure(p.erasure, user.userId, c.req.valid('json').password);
    deleteCookie(c, SESSION_COOKIE, { path: '/' });
    return c.json({ status: 'erasing' as const, workspaces: result.workspaces }, 202);
  });
  app.openapi(routes.eraseWorkspace, async (c) => {
    const access = await authorizeWorkspace(deps.db, c.get('principal'), c.req.valid('param').ws, 'workspace.delete');
    await assertWorkspaceErasureConfirmed(p.erasure, access.workspaceId, requireUser(c).userId, c.req.valid('json'));
    await requestWorkspaceErasure(p.erasure, c.get('actor'), access.workspaceId);
    return c.json({ status: 'erasing' as const, workspaces: [access.workspaceId] }, 202);
  });
}
