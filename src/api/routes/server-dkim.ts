/**
 * Rotating a server's DKIM keys now (src/servers/dkim-rotation.ts): the owner, an admin or a write
 * key of the workspace; support and ops for any server. `emergency: true` (a leaked key) revokes the
 * current key's records at once instead of keeping them published for mail in flight. 202 with the
 * run to follow; the keys and their states are in GET …/dns (`dkimKeys`).
 */
import { createRoute, z } from '@hono/zod-openapi';
import { startDkimRotation } from '../../servers/dkim-rotation.ts';
import { findServer } from '../../servers/views.ts';
import { authorizeWorkspace } from '../../workspaces/access.ts';
import type { ApiDeps, ProvisioningApiDeps } from '../deps.ts';
import type { App } from '../env.ts';
import { requireStaff } from '../middleware/authenticate.ts';
import { bearer, jsonResponse, pathId, problems, ServerParams } from '../openapi.ts';

const AdminParams = z.object({ id: pathId('id') });
const RotateBody = z.strictObject({
  reason: z
    .string()
    .trim()
    .min(3)
    .max(300)
    .openapi({ description: 'Why, in a sentence (kept in the audit log)', example: 'the key was found in a leaked backup' }),
  emergency: z
    .boolean()
    .default(false)
    .openapi({ description: "A leaked key: revoke the current key's records at once (mail signed with it stops verifying), not after the overlap" }),
});
const RotationStarted = z.object({ runId: z.string() }).openapi('DkimRotationStarted');

const describe = 'Rotate the DKIM keys now: a new dated selector, published and read back through the resolvers before it signs';
const routes = {
  customer: createRoute({
    method: 'post',
    path: '/v1/workspaces/{ws}/servers/{id}/dkim/rotate',
    tags: ['dns'],
    security: bearer,
    summary: describe,
    request: { params: ServerParams, body: { content: { 'application/json': { schema: RotateBody } }, required: true } },
    responses: { 202: jsonResponse(RotationStarted, 'The rotation run started'), ...problems(400, 401, 403, 404, 409) },
  }),
  staff: createRoute({
    method: 'post',
    path: '/v1/admin/servers/{id}/dkim/rotate',
    tags: ['admin'],
    security: bearer,
    summary: describe,
    request: { params: AdminParams, body: { content: { 'application/json': { schema: RotateBody } }, required: true } },
    responses: { 202: jsonResponse(RotationStarted, 'The rotation run started'), ...problems(400, 401, 403, 404, 409) },
  }),
};

export function registerServerDkimRoutes(app: App, deps: ApiDeps, p: ProvisioningApiDeps): void {
  app.openapi(routes.customer, async (c) => {
    const { ws, id } = c.req.valid('param');
    const access = await authorizeWorkspace(deps.db, c.get('principal'), ws, 'servers.rotate_dkim');
    const server = await findServer(deps.db, id, access.workspaceId);
    return c.json(await startDkimRotation(p, c.get('actor'), { serverId: server.id, ...c.req.valid('json') }), 202);
  });
  app.openapi(routes.staff, async (c) => {
    requireStaff(c, ['support', 'ops']);
    const server = await findServer(deps.db, c.req.valid('param').id);
    return c.json(await startDkimRotation(p, c.get('actor'), { serverId: server.id, ...c.req.valid('json') }), 202);
  });
}
