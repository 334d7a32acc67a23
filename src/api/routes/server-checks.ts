/**
 * GET /v1/workspaces/{ws}/servers/{id}/checks: the server's health checks,
 * each with its status, what was seen, what to do, and when it last changed.
 * POST …/checks/run queues a run now (the periodic job runs them anyway).
 */
import { createRoute, z } from '@hono/zod-openapi';
import { CHECK_STATUSES } from '../../db/schema/index.ts';
import { ConflictError } from '../../errors.ts';
import { CHECK_NAMES, CHECK_TITLES } from '../../health/check-types.ts';
import { storedChecks } from '../../health/run-checks.ts';
import type { JobQueue } from '../../jobs/queue.ts';
import type { Db } from '../../db/client.ts';
import { findServer } from '../../servers/views.ts';
import { authorizeWorkspace } from '../../workspaces/access.ts';
import type { App } from '../env.ts';
import { bearer, jsonResponse, problems, ServerParams } from '../openapi.ts';

export const CheckSchema = z
  .object({
    name: z.enum(CHECK_NAMES as [string, ...string[]]).openapi({ description: 'Stable identifier of the check' }),
    title: z.string(),
    status: z
      .enum(CHECK_STATUSES)
      .openapi({ description: 'pass; warn (works, but should be fixed); fail; unknown (could not check, e.g. a DNSBL zone error)' }),
    summary: z.string().openapi({ description: 'What was seen, in one sentence' }),
    action: z.string().nullable().openapi({ description: 'When not passing: what to do, in one sentence' }),
    details: z.record(z.string(), z.unknown()),
    checkedAt: z.string(),
    changedAt: z.string().openapi({ description: 'When the status last changed' }),
  })
  .openapi('HealthCheck');

const tag = ['servers'];
const routes = {
  list: createRoute({
    method: 'get',
    path: '/v1/workspaces/{ws}/servers/{id}/checks',
    tags: tag,
    security: bearer,
    summary: 'Health checks of a server (DNS, SPF, DKIM, DMARC, MTA-STS, DNSSEC/TLSA, PTR, blacklists, certificate, ports)',
    request: { params: ServerParams },
    responses: {
      200: jsonResponse(
        z.object({ checks: z.array(CheckSchema), checkedAt: z.string().nullable(), simulated: z.boolean() }),
        'Latest results, in display order; empty until the first run',
      ),
      ...problems(401, 403, 404),
    },
  }),
  run: createRoute({
    method: 'post',
    path: '/v1/workspaces/{ws}/servers/{id}/checks/run',
    tags: tag,
    security: bearer,
    summary: 'Run the health checks of a ready server now',
    request: { params: ServerParams },
    responses: { 202: jsonResponse(z.object({ queued: z.boolean() }), 'Queued (false: a run is already queued)'), ...problems(401, 403, 404, 409) },
  }),
};

export interface ServerChecksDeps {
  db: Db;
  queue: JobQueue;
  simulated: boolean;
}

export async function presentChecks(db: Db, serverId: string) {
  const rows = await storedChecks({ db }, serverId);
  const order = new Map(CHECK_NAMES.map((n, i) => [n as string, i]));
  return rows
    .sort((a, b) => (order.get(a.name) ?? 99) - (order.get(b.name) ?? 99))
    .map((r) => ({
      name: r.name,
      title: CHECK_TITLES[r.name as keyof typeof CHECK_TITLES] ?? r.name,
      status: r.status,
      summary: r.summary,
      action: r.action,
      details: r.details,
      checkedAt: r.checkedAt.toISOString(),
      changedAt: r.changedAt.toISOString(),
    }));
}

export function registerServerCheckRoutes(app: App, deps: ServerChecksDeps): void {
  app.openapi(routes.list, async (c) => {
    const { ws, id } = c.req.valid('param');
    const access = await authorizeWorkspace(deps.db, c.get('principal'), ws, 'servers.read');
    const server = await findServer(deps.db, id, access.workspaceId);
    const checks = await presentChecks(deps.db, server.id);
    const last = checks.reduce<string | null>((m, ch) => (m === null || ch.checkedAt > m ? ch.checkedAt : m), null);
    return c.json({ checks, checkedAt: last, simulated: deps.simulated }, 200);
  });

  app.openapi(routes.run, async (c) => {
    const { ws, id } = c.req.valid('param');
    const access = await authorizeWorkspace(deps.db, c.get('principal'), ws, 'servers.checks.run');
    const server = await findServer(deps.db, id, access.workspaceId);
    if (server.status !== 'ready') {
      throw new ConflictError(`The server is ${server.status}; health checks run once it is ready`, 'server_not_ready');
    }
    const jobId = await deps.queue.send('health.check_server', { serverId: server.id }, { singletonKey: server.id });
    return c.json({ queued: jobId !== null }, 202);
  });
}
