/**
 * Maintenance windows, chosen by the customer: when mailplane may restart a server's services
 * (a rollout) or reboot it (updates). Per server, or for the whole workspace; a server without
 * its own follows the workspace's, then the installation's default. Times are UTC.
 */
import { createRoute, z } from '@hono/zod-openapi';
import { eq } from 'drizzle-orm';
import { audit } from '../../audit.ts';
import { serverStacks, workspaceMaintenance } from '../../db/schema/index.ts';
import type { FleetDeps } from '../../fleet/deps.ts';
import { describeWindow, nextOpening, validateWindow, windowOf } from '../../fleet/maintenance.ts';
import { findServer } from '../../servers/views.ts';
import { authorizeWorkspace } from '../../workspaces/access.ts';
import type { ApiDeps } from '../deps.ts';
import type { App } from '../env.ts';
import { bearer, jsonBody, jsonResponse, problems, ServerParams, WorkspaceParam } from '../openapi.ts';

const Window = z
  .strictObject({
    days: z
      .array(z.number().int().min(0).max(6))
      .min(1)
      .max(7)
      .openapi({ description: 'Weekdays, 0 = Sunday (UTC)', example: [0, 6] }),
    startMinute: z.number().int().min(0).max(1439).openapi({ description: 'Minutes after midnight UTC', example: 120 }),
    durationMinutes: z.number().int().min(30).max(1440).openapi({ example: 180 }),
  })
  .openapi('MaintenanceWindow');
const WindowView = z
  .object({
    window: Window,
    source: z.enum(['server', 'workspace', 'default']),
    text: z.string(),
    nextOpening: z.string(),
  })
  .openapi('MaintenanceWindowView');
const Body = z.strictObject({
  window: Window.nullable().openapi({ description: "null: follow the workspace's (for a server) or the default (for a workspace)" }),
});

const tags = ['servers'];
const routes = {
  getServer: createRoute({
    method: 'get',
    path: '/v1/workspaces/{ws}/servers/{id}/maintenance-window',
    tags,
    security: bearer,
    summary: "The server's maintenance window (its own, the workspace's or the default)",
    request: { params: ServerParams },
    responses: { 200: jsonResponse(WindowView, 'The window'), ...problems(401, 403, 404) },
  }),
  putServer: createRoute({
    method: 'put',
    path: '/v1/workspaces/{ws}/servers/{id}/maintenance-window',
    tags,
    security: bearer,
    summary: "Choose the server's maintenance window (null: the workspace's)",
    request: { params: ServerParams, body: jsonBody(Body) },
    responses: { 200: jsonResponse(WindowView, 'The window'), ...problems(401, 403, 404) },
  }),
  getWorkspace: createRoute({
    method: 'get',
    path: '/v1/workspaces/{ws}/maintenance-window',
    tags: ['workspaces'],
    security: bearer,
    summary: "The workspace's maintenance window (or the default)",
    request: { params: WorkspaceParam },
    responses: { 200: jsonResponse(WindowView, 'The window'), ...problems(401, 403, 404) },
  }),
  putWorkspace: createRoute({
    method: 'put',
    path: '/v1/workspaces/{ws}/maintenance-window',
    tags: ['workspaces'],
    security: bearer,
    summary: "Choose the workspace's maintenance window (null: the default)",
    request: { params: WorkspaceParam, body: jsonBody(Body) },
    responses: { 200: jsonResponse(WindowView, 'The window'), ...problems(401, 403, 404) },
  }),
};

export function registerMaintenanceWindowRoutes(app: App, api: ApiDeps, fleet: FleetDeps): void {
  const { db } = api;
  const now = () => new Date(fleet.provisioning.clock.now());
  const view = async (server: { id: string; workspaceId: string }) => {
    const w = await windowOf(db, server, fleet.settings.defaultWindow);
    return { window: w.window, source: w.source, text: describeWindow(w.window), nextOpening: nextOpening(w.window, now()).toISOString() };
  };
  // A workspace's own view: the same resolution with no server window (an id no server has).
  const workspaceView = (workspaceId: string) => view({ id: '00000000-0000-0000-0000-000000000000', workspaceId });

  app.openapi(routes.getServer, async (c) => {
    const { ws, id } = c.req.valid('param');
    const access = await authorizeWorkspace(db, c.get('principal'), ws, 'servers.read');
    return c.json(await view(await findServer(db, id, access.workspaceId)), 200);
  });
  app.openapi(routes.putServer, async (c) => {
    const { ws, id } = c.req.valid('param');
    const access = await authorizeWorkspace(db, c.get('principal'), ws, 'servers.maintenance');
    const server = await findServer(db, id, access.workspaceId);
    const { window } = c.req.valid('json');
    const chosen = window ? validateWindow(window) : null;
    await db
      .insert(serverStacks)
      .values({ serverId: server.id, maintenanceWindow: chosen })
      .onConflictDoUpdate({ target: serverStacks.serverId, set: { maintenanceWindow: chosen } });
    await audit(db, c.get('actor'), { action: 'server.maintenance_window', workspaceId: server.workspaceId, target: server.id, details: { window: chosen } });
    return c.json(await view(server), 200);
  });
  app.openapi(routes.getWorkspace, async (c) => {
    const access = await authorizeWorkspace(db, c.get('principal'), c.req.valid('param').ws, 'workspace.read');
    return c.json(await workspaceView(access.workspaceId), 200);
  });
  app.openapi(routes.putWorkspace, async (c) => {
    const access = await authorizeWorkspace(db, c.get('principal'), c.req.valid('param').ws, 'servers.maintenance');
    const { window } = c.req.valid('json');
    if (window) {
      const chosen = validateWindow(window);
      await db
        .insert(workspaceMaintenance)
        .values({ workspaceId: access.workspaceId, window: chosen })
        .onConflictDoUpdate({ target: workspaceMaintenance.workspaceId, set: { window: chosen, updatedAt: now() } });
    } else {
      await db.delete(workspaceMaintenance).where(eq(workspaceMaintenance.workspaceId, access.workspaceId));
    }
    await audit(db, c.get('actor'), {
      action: 'workspace.maintenance_window',
      workspaceId: access.workspaceId,
      target: access.workspaceId,
      details: { window },
    });
    return c.json(await workspaceView(access.workspaceId), 200);
  });
}
