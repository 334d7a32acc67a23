/** GET/PUT /v1/workspaces/{ws}/security: whether members must use two-factor sign-in. */
import { createRoute, z } from '@hono/zod-openapi';
import { authorizeWorkspace } from '../../workspaces/access.ts';
import { setTwoFactorPolicy, twoFactorPolicy } from '../../workspaces/two-factor-policy.ts';
import type { ApiDeps } from '../deps.ts';
import type { App } from '../env.ts';
import { bearer, jsonBody, jsonResponse, problems, WorkspaceParam } from '../openapi.ts';

const Security = z
  .object({
    requireTwoFactor: z.boolean().openapi({ description: 'Members without a second factor are sent to set one up before anything else' }),
  })
  .openapi('WorkspaceSecurity');

const tag = ['workspaces'];
const routes = {
  get: createRoute({
    method: 'get',
    path: '/v1/workspaces/{ws}/security',
    tags: tag,
    summary: "The workspace's sign-in policy",
    security: bearer,
    request: { params: WorkspaceParam },
    responses: { 200: jsonResponse(Security, 'Policy'), ...problems(401, 403, 404) },
  }),
  put: createRoute({
    method: 'put',
    path: '/v1/workspaces/{ws}/security',
    tags: tag,
    summary: 'Require two-factor sign-in of every member (or stop requiring it)',
    security: bearer,
    request: { params: WorkspaceParam, body: jsonBody(Security.strict()) },
    responses: { 200: jsonResponse(Security, 'Changed'), ...problems(401, 403, 404, 409) },
  }),
};

export function registerWorkspaceSecurityRoutes(app: App, deps: ApiDeps): void {
  app.openapi(routes.get, async (c) => {
    const access = await authorizeWorkspace(deps.db, c.get('principal'), c.req.valid('param').ws, 'workspace.read');
    return c.json(await twoFactorPolicy(deps.db, access), 200);
  });
  app.openapi(routes.put, async (c) => {
    const access = await authorizeWorkspace(deps.db, c.get('principal'), c.req.valid('param').ws, 'workspace.update');
    return c.json(await setTwoFactorPolicy(deps.db, c.get('actor'), access, c.req.valid('json').requireTwoFactor), 200);
  });
}
