/**
 * The fleet for staff: stack versions across servers ("120 on X, 3 on W"), one server's stack
 * with its drift (support sees the diffs of non-secret files), a drift check now, and rollouts:
 * start (ops), follow, and resume / skip / abort a halted one (ops). Every change is audited.
 */
import { createRoute, z } from '@hono/zod-openapi';
import type { FleetDeps } from '../../fleet/deps.ts';
import { actOnRollout, fleetVersions, listRollouts, rolloutView } from '../../fleet/rollout-actions.ts';
import { startRollout } from '../../fleet/rollouts.ts';
import { serverStackView } from '../../fleet/views.ts';
import { audit } from '../../audit.ts';
import { findServer } from '../../servers/views.ts';
import type { ApiDeps } from '../deps.ts';
import type { App } from '../env.ts';
import { requireStaff } from '../middleware/authenticate.ts';
import { bearer, jsonBody, jsonResponse, pathId, problems } from '../openapi.ts';
import { Rollout, RolloutSummary, ServerStack } from './fleet-schemas.ts';

const STAFF = ['support', 'ops'] as const;
const OPS = ['ops'] as const;
const tag = ['admin'];
const Id = z.object({ id: pathId('id') });

const Versions = z
  .object({
    current: z.object({ version: z.string(), release: z.string() }),
    versions: z.array(
      z.object({
        version: z.string().nullable().openapi({ description: 'null: servers that have no recorded version (installed before versions were kept)' }),
        release: z.string().nullable(),
        servers: z.number().int(),
        current: z.boolean(),
      }),
    ),
  })
  .openapi('FleetVersions');

const routes = {
  versions: createRoute({
    method: 'get',
    path: '/v1/admin/fleet/versions',
    tags: tag,
    summary: 'Live servers per mail-stack version, and the current version',
    security: bearer,
    responses: { 200: jsonResponse(Versions, 'Versions'), ...problems(401, 403) },
  }),
  stack: createRoute({
    method: 'get',
    path: '/v1/admin/servers/{id}/stack',
    tags: tag,
    summary: "A server's stack version, drift (with diffs of non-secret files), updates and maintenance window",
    security: bearer,
    request: { params: Id },
    responses: { 200: jsonResponse(ServerStack, "The server's stack"), ...problems(401, 403, 404) },
  }),
  driftCheck: createRoute({
    method: 'post',
    path: '/v1/admin/servers/{id}/drift-check',
    tags: tag,
    summary: 'Check the server for drift now (queued; GET …/stack shows the result)',
    security: bearer,
    request: { params: Id },
    responses: { 202: jsonResponse(z.object({ queued: z.boolean() }), 'Queued'), ...problems(401, 403, 404, 409) },
  }),
  listRollouts: createRoute({
    method: 'get',
    path: '/v1/admin/rollouts',
    tags: tag,
    summary: 'Rollouts, newest first',
    security: bearer,
    responses: { 200: jsonResponse(z.object({ rollouts: z.array(RolloutSummary) }), 'Rollouts'), ...problems(401, 403) },
  }),
  startRollout: createRoute({
    method: 'post',
    path: '/v1/admin/rollouts',
    tags: tag,
    security: bearer,
    summary:
      'Roll the current stack out: a canary, a small share, then waves; a backup, the apply and the checks per server; halts and rolls back on a failure',
    request: {
      body: jsonBody(
        z
          .strictObject({ canaryServerId: z.uuid().optional().openapi({ description: 'The first server (default: the oldest one behind)' }) })
          .openapi('StartRollout'),
      ),
    },
    responses: { 202: jsonResponse(Rollout, 'Started; follow it with GET /v1/admin/rollouts/{id}'), ...problems(401, 403, 404, 409) },
  }),
  getRollout: createRoute({
    method: 'get',
    path: '/v1/admin/rollouts/{id}',
    tags: tag,
    summary: "A rollout with every server's state",
    security: bearer,
    request: { params: Id },
    responses: { 200: jsonResponse(Rollout, 'The rollout'), ...problems(401, 403, 404) },
  }),
  act: createRoute({
    method: 'post',
    path: '/v1/admin/rollouts/{id}/{action}',
    tags: tag,
    security: bearer,
    summary: 'resume (try the failed server again), skip (go on without it) or abort a halted rollout',
    request: { params: Id.extend({ action: z.enum(['resume', 'skip', 'abort']).openapi({ param: { name: 'action', in: 'path' } }) }) },
    responses: { 200: jsonResponse(Rollout, 'The rollout'), ...problems(401, 403, 404, 409) },
  }),
};

export function registerAdminFleetRoutes(app: App, api: ApiDeps, fleet: FleetDeps): void {
  const { db } = api;
  app.openapi(routes.versions, async (c) => {
    requireStaff(c, STAFF);
    return c.json(await fleetVersions(fleet), 200);
  });
  app.openapi(routes.stack, async (c) => {
    requireStaff(c, STAFF);
    return c.json(await serverStackView(fleet, db, await findServer(db, c.req.valid('param').id), { withDiffs: true }), 200);
  });
  app.openapi(routes.driftCheck, async (c) => {
    requireStaff(c, STAFF);
    const server = await findServer(db, c.req.valid('param').id);
    await fleet.provisioning.queue.send('fleet.drift_check', { serverId: server.id }, { singletonKey: server.id });
    await audit(db, c.get('actor'), { action: 'server.drift_check', workspaceId: server.workspaceId, target: server.id });
    return c.json({ queued: true }, 202);
  });
  app.openapi(routes.listRollouts, async (c) => {
    requireStaff(c, STAFF);
    return c.json({ rollouts: await listRollouts(db) }, 200);
  });
  app.openapi(routes.startRollout, async (c) => {
    requireStaff(c, OPS);
    const { id } = await startRollout(fleet, c.get('actor'), { canaryServerId: c.req.valid('json').canaryServerId });
    return c.json(await rolloutView(db, id), 202);
  });
  app.openapi(routes.getRollout, async (c) => {
    requireStaff(c, STAFF);
    return c.json(await rolloutView(db, c.req.valid('param').id), 200);
  });
  app.openapi(routes.act, async (c) => {
    requireStaff(c, OPS);
    const { id, action } = c.req.valid('param');
    return c.json(await actOnRollout(fleet, c.get('actor'), id, action), 200);
  });
}
