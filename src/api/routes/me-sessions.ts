/** GET /v1/me/sessions, DELETE /v1/me/sessions/{sessionId}, POST /v1/me/sessions/sign-out-others */
import { createRoute, z } from '@hono/zod-openapi';
import { listActiveSessions, signOutOtherSessions, signOutSession } from '../../accounts/active-sessions.ts';
import type { ApiDeps } from '../deps.ts';
import type { App } from '../env.ts';
import { requireUser } from '../middleware/authenticate.ts';
import { bearer, jsonResponse, pathId, problems } from '../openapi.ts';

const SessionSchema = z
  .object({
    id: z.string(),
    createdAt: z.string(),
    expiresAt: z.string(),
    ip: z.string().nullable(),
    userAgent: z.string().nullable(),
    current: z.boolean().openapi({ description: 'The session this request came with' }),
  })
  .openapi('ActiveSession');

const tag = ['account'];
const routes = {
  list: createRoute({
    method: 'get',
    path: '/v1/me/sessions',
    tags: tag,
    summary: 'Where your account is signed in (sessions not signed out or expired)',
    security: bearer,
    responses: { 200: jsonResponse(z.object({ sessions: z.array(SessionSchema) }), 'Newest first'), ...problems(401, 403) },
  }),
  revoke: createRoute({
    method: 'delete',
    path: '/v1/me/sessions/{sessionId}',
    tags: tag,
    summary: 'Sign one of your sessions out',
    security: bearer,
    request: { params: z.object({ sessionId: pathId('sessionId') }) },
    responses: { 204: { description: 'Signed out' }, ...problems(401, 403, 404) },
  }),
  others: createRoute({
    method: 'post',
    path: '/v1/me/sessions/sign-out-others',
    tags: tag,
    summary: 'Sign out everywhere except this session',
    security: bearer,
    responses: { 200: jsonResponse(z.object({ signedOut: z.number().int() }), 'How many sessions were signed out'), ...problems(401, 403) },
  }),
};

export function registerMeSessionRoutes(app: App, deps: ApiDeps): void {
  // People only (requireUser): an API key has no sessions to list.
  app.openapi(routes.list, async (c) => {
    const me = requireUser(c);
    const list = await listActiveSessions(deps.db, me.userId, me.sessionId);
    return c.json({ sessions: list.map((s) => ({ ...s, createdAt: s.createdAt.toISOString(), expiresAt: s.expiresAt.toISOString() })) }, 200);
  });
  app.openapi(routes.revoke, async (c) => {
    await signOutSession(deps.db, c.get('actor'), requireUser(c).userId, c.req.valid('param').sessionId);
    return c.body(null, 204);
  });
  app.openapi(routes.others, async (c) => {
    const me = requireUser(c);
    return c.json({ signedOut: await signOutOtherSessions(deps.db, c.get('actor'), me.userId, me.sessionId) }, 200);
  });
}
