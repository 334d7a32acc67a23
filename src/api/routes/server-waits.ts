/**
 * POST /v1/workspaces/{ws}/servers/{id}/recheck: the customer (or whoever waited on) says they
 * have done what a waiting server asks — moved the nameservers, had outbound SMTP opened — and
 * the waiting steps are checked now instead of at their next scheduled check.
 */
import { createRoute, z } from '@hono/zod-openapi';
import { findServer } from '../../servers/views.ts';
import { authorizeWorkspace } from '../../workspaces/access.ts';
import type { ApiDeps, ProvisioningApiDeps } from '../deps.ts';
import type { App } from '../env.ts';
import { bearer, jsonResponse, problems, ServerParams } from '../openapi.ts';

const RecheckQueued = z
  .object({
    runId: z.string(),
    steps: z.array(z.string()).openapi({ description: 'The waiting steps checked now' }),
  })
  .openapi('RecheckQueued');

const route = createRoute({
  method: 'post',
  path: '/v1/workspaces/{ws}/servers/{id}/recheck',
  tags: ['servers'],
  security: bearer,
  summary: 'Check a waiting server now (after moving the nameservers or having SMTP opened)',
  request: { params: ServerParams },
  responses: { 202: jsonResponse(RecheckQueued, 'The waiting steps are being checked'), ...problems(401, 403, 404, 409) },
});

export function registerServerWaitRoutes(app: App, deps: ApiDeps, p: ProvisioningApiDeps): void {
  app.openapi(route, async (c) => {
    const { ws, id } = c.req.valid('param');
    const access = await authorizeWorkspace(deps.db, c.get('principal'), ws, 'servers.recheck');
    const server = await findServer(deps.db, id, access.workspaceId);
    return c.json(await p.engine.recheckWaiting(c.get('actor'), server.id), 202);
  });
}
