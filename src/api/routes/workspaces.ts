/** Workspaces and members: /v1/workspaces, /v1/workspaces/{ws}, /v1/workspaces/{ws}/members/{userId} */
import { createRoute, z } from '@hono/zod-openapi';
import { authorizeWorkspace } from '../../workspaces/access.ts';
import {
  changeMemberRole,
  createWorkspace,
  getWorkspace,
  listMembers,
  listWorkspacesOfUser,
  removeMember,
  renameWorkspace,
} from '../../workspaces/workspaces.ts';
import type { ApiDeps } from '../deps.ts';
import type { App } from '../env.ts';
import { requireUser } from '../middleware/authenticate.ts';
import { bearer, jsonBody, jsonResponse, pathId, problems, WorkspaceParam } from '../openapi.ts';
import { iso, RoleSchema, WorkspaceSchema } from './schemas.ts';

const NameBody = z.strictObject({ name: z.string().trim().min(1).max(100) });
const MemberSchema = z.object({ userId: z.string(), email: z.string(), name: z.string(), role: RoleSchema, joinedAt: z.string() }).openapi('Member');
const MemberParams = WorkspaceParam.extend({ userId: pathId('userId') });

const tag = ['workspaces'];
const routes = {
  create: createRoute({
    method: 'post',
    path: '/v1/workspaces',
    tags: tag,
    summary: 'Create a workspace (you become owner)',
    security: bearer,
    request: { body: jsonBody(NameBody) },
    responses: { 201: jsonResponse(WorkspaceSchema, 'Created'), ...problems(401, 403) },
  }),
  list: createRoute({
    method: 'get',
    path: '/v1/workspaces',
    tags: tag,
    summary: 'Workspaces you belong to',
    security: bearer,
    responses: { 200: jsonResponse(z.object({ workspaces: z.array(WorkspaceSchema) }), 'Your workspaces'), ...problems(401) },
  }),
  get: createRoute({
    method: 'get',
    path: '/v1/workspaces/{ws}',
    tags: tag,
    summary: 'One workspace',
    security: bearer,
    request: { params: WorkspaceParam },
    responses: { 200: jsonResponse(WorkspaceSchema, 'The workspace'), ...problems(401, 404) },
  }),
  rename: createRoute({
    method: 'patch',
    path: '/v1/workspaces/{ws}',
    tags: tag,
    summary: 'Rename a workspace',
    security: bearer,
    request: { params: WorkspaceParam, body: jsonBody(NameBody) },
    responses: { 200: jsonResponse(WorkspaceSchema, 'Renamed'), ...problems(401, 403, 404) },
  }),
  members: createRoute({
    method: 'get',
    path: '/v1/workspaces/{ws}/members',
    tags: tag,
    summary: 'Members',
    security: bearer,
    request: { params: WorkspaceParam },
    responses: { 200: jsonResponse(z.object({ members: z.array(MemberSchema) }), 'Members'), ...problems(401, 404) },
  }),
  changeRole: createRoute({
    method: 'patch',
    path: '/v1/workspaces/{ws}/members/{userId}',
    tags: tag,
    summary: "Change a member's role",
    security: bearer,
    request: { params: MemberParams, body: jsonBody(z.strictObject({ role: RoleSchema })) },
    responses: { 200: jsonResponse(z.object({ userId: z.string(), role: RoleSchema }), 'Changed'), ...problems(401, 403, 404, 409) },
  }),
  remove: createRoute({
    method: 'delete',
    path: '/v1/workspaces/{ws}/members/{userId}',
    tags: tag,
    summary: 'Remove a member (or leave)',
    security: bearer,
    request: { params: MemberParams },
    responses: { 204: { description: 'Removed' }, ...problems(401, 403, 404, 409) },
  }),
};

const ws = (w: { id: string; name: string; createdAt: Date; erasureScheduledFor: Date | null; role: 'owner' | 'admin' | 'member' | null }) => ({
  id: w.id,
  name: w.name,
  role: w.role,
  createdAt: w.createdAt.toISOString(),
  erasureScheduledFor: iso(w.erasureScheduledFor),
});

export function registerWorkspaceRoutes(app: App, deps: ApiDeps): void {
  const { db } = deps;

  app.openapi(routes.create, async (c) => {
    const user = requireUser(c);
    return c.json(ws(await createWorkspace(db, c.get('actor'), user.userId, c.req.valid('json').name)), 201);
  });

  app.openapi(routes.list, async (c) => {
    const p = c.get('principal');
    if (p.kind === 'api_key') {
      const access = await authorizeWorkspace(db, p, p.workspaceId, 'workspace.read');
      return c.json({ workspaces: [ws(await getWorkspace(db, access))] }, 200);
    }
    return c.json({ workspaces: (await listWorkspacesOfUser(db, p.userId)).map(ws) }, 200);
  });

  app.openapi(routes.get, async (c) => {
    const access = await authorizeWorkspace(db, c.get('principal'), c.req.valid('param').ws, 'workspace.read');
    return c.json(ws(await getWorkspace(db, access)), 200);
  });

  app.openapi(routes.rename, async (c) => {
    const access = await authorizeWorkspace(db, c.get('principal'), c.req.valid('param').ws, 'workspace.update');
    return c.json(ws(await renameWorkspace(db, c.get('actor'), access, c.req.valid('json').name)), 200);
  });

  app.openapi(routes.members, async (c) => {
    const access = await authorizeWorkspace(db, c.get('principal'), c.req.valid('param').ws, 'members.read');
    const members = await listMembers(db, access.workspaceId);
    return c.json({ members: members.map((m) => ({ ...m, joinedAt: iso(m.joinedAt)! })) }, 200);
  });

  app.openapi(routes.changeRole, async (c) => {
    const { ws: id, userId } = c.req.valid('param');
    const access = await authorizeWorkspace(db, c.get('principal'), id, 'members.manage');
    return c.json(await changeMemberRole(db, c.get('actor'), access, userId, c.req.valid('json').role), 200);
  });

  app.openapi(routes.remove, async (c) => {
    const { ws: id, userId } = c.req.valid('param');
    const p = c.get('principal');
    // Anyone may leave; removing someone else needs members.manage.
    const leaving = p.kind === 'user' && p.userId === userId;
    const access = await authorizeWorkspace(db, p, id, leaving ? 'members.read' : 'members.manage');
    await removeMember(db, c.get('actor'), access, userId);
    return c.body(null, 204);
  });
}
