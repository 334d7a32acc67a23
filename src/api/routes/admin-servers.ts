/** Support tools: every server's steps with logs, re-run a step, resume a failed run. Staff only, audited. */
import { createRoute, z } from '@hono/zod-openapi';
import { findServer, listServers, serverDetail } from '../../servers/views.ts';
import { SERVER_STATUSES } from '../../db/schema/index.ts';
import type { ApiDeps, ProvisioningApiDeps } from '../deps.ts';
import type { App } from '../env.ts';
import { requireStaff } from '../middleware/authenticate.ts';
import { bearer, jsonResponse, pathId, problems } from '../openapi.ts';
import { ServerDetail, ServerSummary } from './server-schemas.ts';

const Id = z.object({ id: pathId('id') });
const STAFF = ['support', 'ops'] as const;

const tag = ['admin'];
const routes = {
  list: createRoute({
    method: 'get',
    path: '/v1/admin/servers',
    tags: tag,
    summary: 'All servers, optionally by status',
    security: bearer,
    request: { query: z.object({ status: z.enum(SERVER_STATUSES).optional() }) },
    responses: { 200: jsonResponse(z.object({ servers: z.array(ServerSummary) }), 'Servers'), ...problems(401, 403) },
  }),
  get: createRoute({
    method: 'get',
    path: '/v1/admin/servers/{id}',
    tags: tag,
    summary: 'A server with step logs',
    security: bearer,
    request: { params: Id },
    responses: { 200: jsonResponse(ServerDetail, 'The server, with step logs and outputs'), ...problems(401, 403, 404) },
  }),
  rerun: createRoute({
    method: 'post',
    path: '/v1/admin/servers/{id}/steps/{step}/rerun',
    tags: tag,
    summary: 'Re-run one step of the latest run',
    security: bearer,
    request: {
      params: Id.extend({
        step: z
          .string()
          .regex(/^[a-z_]{1,40}$/)
          .openapi({ param: { name: 'step', in: 'path' } }),
      }),
    },
    responses: { 202: jsonResponse(z.object({ runId: z.string(), step: z.string() }), 'Queued'), ...problems(401, 403, 404, 409) },
  }),
  resume: createRoute({
    method: 'post',
    path: '/v1/admin/servers/{id}/resume',
    tags: tag,
    summary: 'Resume a failed run (re-queues its failed steps)',
    security: bearer,
    request: { params: Id },
    responses: { 202: jsonResponse(z.object({ runId: z.string(), requeued: z.array(z.string()) }), 'Resumed'), ...problems(401, 403, 404, 409) },
  }),
};

export function registerAdminServerRoutes(app: App, deps: ApiDeps, p: ProvisioningApiDeps): void {
  const { db } = deps;
  app.openapi(routes.list, async (c) => {
    requireStaff(c, STAFF);
    const { status } = c.req.valid('query');
    return c.json({ servers: await listServers(db, status ? { status } : {}) }, 200);
  });
  app.openapi(routes.get, async (c) => {
    requireStaff(c, STAFF);
    return c.json(await serverDetail(db, await findServer(db, c.req.valid('param').id), { withLogs: true }), 200);
  });
  app.openapi(routes.rerun, async (c) => {
    requireStaff(c, STAFF);
    const { id, step } = c.req.valid('param');
    const server = await findServer(db, id);
    const { runId } = await p.engine.rerunStep(c.get('actor'), server.id, step);
    return c.json({ runId, step }, 202);
  });
  app.openapi(routes.resume, async (c) => {
    requireStaff(c, STAFF);
    const server = await findServer(db, c.req.valid('param').id);
    return c.json(await p.engine.resumeRun(c.get('actor'), server.id), 202);
  });
}
