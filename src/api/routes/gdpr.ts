/** GDPR: export everything about me, erase my account, erase a workspace. */
import { createRoute, z } from '@hono/zod-openapi';
import { deleteCookie } from 'hono/cookie';
import { assertWorkspaceErasureConfirmed, requestAccountErasure } from '../../gdpr/erase.ts';
import { cancelWorkspaceErasure, scheduleWorkspaceErasure } from '../../gdpr/erasure-grace.ts';
import { exportUserData } from '../../gdpr/export.ts';
import { authorizeWorkspace } from '../../workspaces/access.ts';
import type { ApiDeps, ProvisioningApiDeps } from '../deps.ts';
import type { App } from '../env.ts';
import { requireUser, SESSION_COOKIE } from '../middleware/authenticate.ts';
import { bearer, jsonBody, jsonResponse, problems, WorkspaceParam } from '../openapi.ts';
import { GdprExport } from './gdpr-schema.ts';

const tag = ['privacy'];
const Erasing = z.object({ status: z.literal('erasing'), workspaces: z.array(z.string()) });
const WorkspaceErasure = z
  .object({
    status: z.enum(['scheduled', 'erasing']).openapi({ description: 'scheduled: waiting out the grace period (owners may cancel); erasing: under way' }),
    workspaces: z.array(z.string()),
    erasesAt: z.string().openapi({ description: 'When the erasure starts (now when there is no grace period)' }),
  })
  .openapi('WorkspaceErasure');
const routes = {
  exportMe: createRoute({
    method: 'get',
    path: '/v1/me/export',
    tags: tag,
    security: bearer,
    summary: 'Everything mailplane holds about you, as one JSON document (secrets are listed, never included)',
    responses: { 200: jsonResponse(GdprExport, 'The export'), ...problems(401, 403) },
  }),
  eraseMe: createRoute({
    method: 'delete',
    path: '/v1/me',
    tags: tag,
    security: bearer,
    summary: 'Erase your account; workspaces you solely own are erased with it (servers deprovisioned, subscriptions cancelled)',
    request: { body: jsonBody(z.strictObject({ password: z.string().min(1).max(256) })) },
    responses: { 202: jsonResponse(Erasing, 'Erasure under way; you are signed out'), ...problems(401, 403) },
  }),
  eraseWorkspace: createRoute({
    method: 'delete',
    path: '/v1/workspaces/{ws}',
    tags: tag,
    security: bearer,
    summary:
      'Erase a workspace (owner), confirmed by its name typed back or your password: servers deprovisioned, subscriptions cancelled, then every row deleted',
    description:
      'The erasure starts after WORKSPACE_ERASURE_GRACE_HOURS (24 by default). Meanwhile the servers keep running, checkout answers 409, ' +
      'every owner is mailed, and any owner can cancel (POST /v1/workspaces/{ws}/erasure/cancel). Asking again keeps the first time.',
    request: {
      params: WorkspaceParam,
      body: jsonBody(
        z
          .strictObject({
            confirm: z.string().max(200).optional().openapi({ description: 'The workspace name, typed back' }),
            password: z.string().min(1).max(256).optional().openapi({ description: 'Or your password' }),
          })
          .refine((b) => b.confirm !== undefined || b.password !== undefined, {
            message: 'confirm with the workspace name (confirm) or your password (password)',
          }),
      ),
    },
    responses: { 202: jsonResponse(WorkspaceErasure, 'Erasure scheduled (or under way without a grace period)'), ...problems(401, 403, 404) },
  }),
  cancelWorkspaceErasure: createRoute({
    method: 'post',
    path: '/v1/workspaces/{ws}/erasure/cancel',
    tags: tag,
    security: bearer,
    summary: 'Cancel the scheduled erasure of a workspace (owner) while its grace period runs; every owner is mailed',
    request: { params: WorkspaceParam },
    responses: { 200: jsonResponse(z.object({ status: z.literal('cancelled') }), 'Nothing will be erased'), ...problems(401, 403, 404, 409) },
  }),
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
    const { status, erasesAt } = await scheduleWorkspaceErasure(p.erasure, c.get('actor'), access.workspaceId);
    return c.json({ status, workspaces: [access.workspaceId], erasesAt: erasesAt.toISOString() }, 202);
  });
  app.openapi(routes.cancelWorkspaceErasure, async (c) => {
    const access = await authorizeWorkspace(deps.db, c.get('principal'), c.req.valid('param').ws, 'workspace.delete');
    await cancelWorkspaceErasure(p.erasure, c.get('actor'), access.workspaceId);
    return c.json({ status: 'cancelled' as const }, 200);
  });
}
