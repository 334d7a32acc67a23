/**
 * Rebuilding a server (src/servers/rebuild.ts): a new instance in the same zone, the same
 * IPs and keys, the mail from the latest backup. The owner or an admin when their server is
 * lost or broken; support and ops for any server. 202 with the run to follow (the checklist,
 * the SSE stream).
 */
import { createRoute, z } from '@hono/zod-openapi';
import { startRebuild } from '../../servers/rebuild.ts';
import { findServer } from '../../servers/views.ts';
import { authorizeWorkspace } from '../../workspaces/access.ts';
import type { ApiDeps, ProvisioningApiDeps } from '../deps.ts';
import type { App } from '../env.ts';
import { requireStaff } from '../middleware/authenticate.ts';
import { bearer, jsonResponse, pathId, problems, ServerParams } from '../openapi.ts';

const AdminParams = z.object({ id: pathId('id') });
const RebuildBody = z
  .object({
    reason: z.string().trim().min(3).max(300).openapi({ description: 'Why, in a sentence (kept in the audit log)', example: 'the server was lost' }),
  })
  .strict();
const RebuildStarted = z.object({ runId: z.string() }).openapi('RebuildStarted');

const describe =
  'Rebuild the server on a new instance: same IPs and keys, mail from the latest backup (a last one is taken first if the old host still answers)';
const routes = {
  customer: createRoute({
    method: 'post',
    path: '/v1/workspaces/{ws}/servers/{id}/rebuild',
    tags: ['servers'],
    security: bearer,
    summary: describe,
    request: { params: ServerParams, body: { content: { 'application/json': { schema: RebuildBody } }, required: true } },
    responses: { 202: jsonResponse(RebuildStarted, 'The rebuild run started'), ...problems(400, 401, 403, 404, 409) },
  }),
  staff: createRoute({
    method: 'post',
    path: '/v1/admin/servers/{id}/rebuild',
    tags: ['admin'],
    security: bearer,
    summary: describe,
    request: { params: AdminParams, body: { content: { 'application/json': { schema: RebuildBody } }, required: true } },
    responses: { 202: jsonResponse(RebuildStarted, 'The rebuild run started'), ...problems(400, 401, 403, 404, 409) },
  }),
};

export function registerServerRebuildRoutes(app: App, deps: ApiDeps, p: ProvisioningApiDeps): void {
  const rebuildDeps = { database: p.database, queue: p.queue, clock: deps.clock };
  app.openapi(routes.customer, async (c) => {
    const { ws, id } = c.req.valid('param');
    const access = await authorizeWorkspace(deps.db, c.get('principal'), ws, 'servers.rebuild');
    const server = await findServer(deps.db, id, access.workspaceId);
    return c.json(await startRebuild(rebuildDeps, c.get('actor'), { serverId: server.id, reason: c.req.valid('json').reason }), 202);
  });
  app.openapi(routes.staff, async (c) => {
    requireStaff(c, ['support', 'ops']);
    const server = await findServer(deps.db, c.req.valid('param').id);
    return c.json(await startRebuild(rebuildDeps, c.get('actor'), { serverId: server.id, reason: c.req.valid('json').reason }), 202);
  });
}
