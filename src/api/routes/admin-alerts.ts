/** Ops alerts: list (by status, kind, server), acknowledge, resolve. Ops staff only, audited. */
import { createRoute, z } from '@hono/zod-openapi';
import { systemClock } from '../../clock.ts';
import { ALERT_STATUSES, acknowledgeAlert, listAlerts, resolveAlert } from '../../ops/alerts.ts';
import type { ApiDeps, ProvisioningApiDeps } from '../deps.ts';
import type { App } from '../env.ts';
import { requireStaff } from '../middleware/authenticate.ts';
import { bearer, jsonResponse, pathId, problems } from '../openapi.ts';

const OPS = ['ops'] as const;
const tag = ['admin'];

const Alert = z
  .object({
    id: z.string(),
    kind: z.string(),
    severity: z.enum(['info', 'warning', 'critical']),
    status: z.enum(ALERT_STATUSES),
    serverId: z.string().nullable(),
    message: z.string(),
    details: z.record(z.string(), z.unknown()),
    openedAt: z.string(),
    acknowledgedAt: z.string().nullable(),
    acknowledgedBy: z.string().nullable(),
    resolvedAt: z.string().nullable(),
  })
  .openapi('Alert');

const Id = z.object({ id: pathId('id') });

const routes = {
  list: createRoute({
    method: 'get',
    path: '/v1/admin/alerts',
    tags: tag,
    summary: 'Alerts, newest first',
    security: bearer,
    request: {
      query: z
        .object({
          status: z.enum(ALERT_STATUSES).optional().openapi({ description: 'open (not acknowledged), acknowledged (not resolved), resolved' }),
          kind: z
            .string()
            .regex(/^[a-z_]{1,40}$/)
            .optional(),
          server: z.string().max(36).optional().openapi({ description: 'Server id' }),
          limit: z.coerce.number().int().min(1).max(500).default(100),
        })
        .strict(),
    },
    responses: { 200: jsonResponse(z.object({ alerts: z.array(Alert) }), 'Alerts'), ...problems(401, 403) },
  }),
  acknowledge: createRoute({
    method: 'post',
    path: '/v1/admin/alerts/{id}/acknowledge',
    tags: tag,
    summary: 'Take an alert (idempotent)',
    security: bearer,
    request: { params: Id },
    responses: { 200: jsonResponse(Alert, 'The alert'), ...problems(401, 403, 404, 409) },
  }),
  resolve: createRoute({
    method: 'post',
    path: '/v1/admin/alerts/{id}/resolve',
    tags: tag,
    summary: 'Close an alert (a condition still present opens a new one at the next check)',
    security: bearer,
    request: { params: Id },
    responses: { 200: jsonResponse(Alert, 'The alert'), ...problems(401, 403, 404, 409) },
  }),
};

export function registerAdminAlertRoutes(app: App, deps: ApiDeps, p: ProvisioningApiDeps): void {
  const ops = { database: p.database, queue: p.queue, settings: deps.config.ops, clock: systemClock };
  app.openapi(routes.list, async (c) => {
    requireStaff(c, OPS);
    const q = c.req.valid('query');
    const found = await listAlerts(deps.db, {
      limit: q.limit,
      ...(q.status ? { status: q.status } : {}),
      ...(q.kind ? { kind: q.kind } : {}),
      ...(q.server ? { serverId: q.server } : {}),
    });
    return c.json({ alerts: found }, 200);
  });
  app.openapi(routes.acknowledge, async (c) => {
    requireStaff(c, OPS);
    return c.json(await acknowledgeAlert(ops, c.get('actor'), c.req.valid('param').id), 200);
  });
  app.openapi(routes.resolve, async (c) => {
    requireStaff(c, OPS);
    return c.json(await resolveAlert(ops, c.get('actor'), c.req.valid('param').id), 200);
  });
}
