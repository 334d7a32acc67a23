/** Invitations: create/list/revoke in a workspace; accept as the invited user. */
import { createRoute, z } from '@hono/zod-openapi';
import { authorizeWorkspace } from '../../workspaces/access.ts';
import { mailInvitation } from '../../workspaces/invitation-mail.ts';
import { acceptInvitation, createInvitation, listInvitations, revokeInvitation, type InvitationDeps } from '../../workspaces/invitations.ts';
import type { ApiDeps } from '../deps.ts';
import type { App } from '../env.ts';
import { requireUser } from '../middleware/authenticate.ts';
import { bearer, Email, jsonBody, jsonResponse, pathId, problems, WorkspaceParam } from '../openapi.ts';
import { iso, RoleSchema, WorkspaceSchema } from './schemas.ts';

const InvitationSchema = z
  .object({
    id: z.string(),
    email: z.string(),
    role: RoleSchema,
    createdAt: z.string(),
    expiresAt: z.string(),
    usedAt: z.string().nullable(),
    revokedAt: z.string().nullable(),
    status: z.enum(['pending', 'used', 'revoked', 'expired']),
  })
  .openapi('Invitation');

const tag = ['invitations'];
const routes = {
  create: createRoute({
    method: 'post',
    path: '/v1/workspaces/{ws}/invitations',
    tags: tag,
    summary: 'Invite someone: the link is emailed to them (the token is also shown once here)',
    security: bearer,
    request: { params: WorkspaceParam, body: jsonBody(z.strictObject({ email: Email, role: RoleSchema })) },
    responses: {
      201: jsonResponse(z.object({ invitation: InvitationSchema, token: z.string() }), 'Created; give the token to the invitee'),
      ...problems(401, 403, 404),
    },
  }),
  list: createRoute({
    method: 'get',
    path: '/v1/workspaces/{ws}/invitations',
    tags: tag,
    summary: 'Invitations of a workspace',
    security: bearer,
    request: { params: WorkspaceParam },
    responses: { 200: jsonResponse(z.object({ invitations: z.array(InvitationSchema) }), 'Invitations'), ...problems(401, 403, 404) },
  }),
  revoke: createRoute({
    method: 'delete',
    path: '/v1/workspaces/{ws}/invitations/{invitationId}',
    tags: tag,
    summary: 'Revoke a pending invitation',
    security: bearer,
    request: { params: WorkspaceParam.extend({ invitationId: pathId('invitationId') }) },
    responses: { 204: { description: 'Revoked' }, ...problems(401, 403, 404) },
  }),
  accept: createRoute({
    method: 'post',
    path: '/v1/invitations/accept',
    tags: tag,
    summary: 'Accept an invitation as the signed-in user',
    security: bearer,
    request: { body: jsonBody(z.strictObject({ token: z.string().min(10).max(200) })) },
    responses: { 200: jsonResponse(z.object({ workspace: WorkspaceSchema }), 'Joined'), ...problems(401, 403) },
  }),
};

type Row = Awaited<ReturnType<typeof listInvitations>>[number];
function present(row: Row, now: number) {
  const status = row.revokedAt ? 'revoked' : row.usedAt ? 'used' : row.expiresAt.getTime() <= now ? 'expired' : 'pending';
  return {
    id: row.id,
    email: row.email,
    role: row.role,
    createdAt: row.createdAt.toISOString(),
    expiresAt: row.expiresAt.toISOString(),
    usedAt: iso(row.usedAt),
    revokedAt: iso(row.revokedAt),
    status,
  } as const;
}

export function registerInvitationRoutes(app: App, deps: ApiDeps): void {
  const inv: InvitationDeps = {
    db: deps.db,
    key: deps.invitationKey,
    ttlSeconds: deps.config.auth.invitationTtlSeconds,
    perWorkspacePerDay: deps.config.auth.invitationsPerWorkspacePerDay,
    clock: deps.clock,
  };

  app.openapi(routes.create, async (c) => {
    const access = await authorizeWorkspace(deps.db, c.get('principal'), c.req.valid('param').ws, 'invitations.manage');
    const { invitation, token } = await createInvitation(inv, c.get('actor'), access, c.req.valid('json'));
    if (deps.mailer) await mailInvitation({ db: deps.db, mailer: deps.mailer, log: deps.log, publicUrl: deps.config.http.publicUrl }, invitation, token);
    return c.json({ invitation: present(invitation, deps.clock.now()), token }, 201);
  });

  app.openapi(routes.list, async (c) => {
    const access = await authorizeWorkspace(deps.db, c.get('principal'), c.req.valid('param').ws, 'invitations.read');
    return c.json({ invitations: (await listInvitations(deps.db, access.workspaceId)).map((r) => present(r, deps.clock.now())) }, 200);
  });

  app.openapi(routes.revoke, async (c) => {
    const { ws, invitationId } = c.req.valid('param');
    const access = await authorizeWorkspace(deps.db, c.get('principal'), ws, 'invitations.manage');
    await revokeInvitation(deps.db, c.get('actor'), access, invitationId);
    return c.body(null, 204);
  });

  app.openapi(routes.accept, async (c) => {
    const user = requireUser(c);
    const { workspace, role } = await acceptInvitation(inv, c.get('actor'), user, c.req.valid('json').token);
    return c.json({ workspace: { id: workspace.id, name: workspace.name, role, createdAt: workspace.createdAt.toISOString() } }, 200);
  });
}
