/** GET /v1/me */
import { createRoute, z } from '@hono/zod-openapi';
import { getUser } from '../../accounts/accounts.ts';
import { NotFoundError } from '../../errors.ts';
import type { ApiDeps } from '../deps.ts';
import type { App } from '../env.ts';
import { requireUser } from '../middleware/authenticate.ts';
import { bearer, jsonResponse, problems } from '../openapi.ts';
import { presentUser, UserSchema } from './schemas.ts';

const me = createRoute({
  method: 'get',
  path: '/v1/me',
  tags: ['account'],
  summary: 'The signed-in user',
  security: bearer,
  responses: { 200: jsonResponse(z.object({ user: UserSchema }), 'The user'), ...problems(401, 403) },
});

export function registerMeRoutes(app: App, deps: ApiDeps): void {
  app.openapi(me, async (c) => {
    const user = await getUser(deps.db, requireUser(c).userId);
    if (!user) throw new NotFoundError('User');
    return c.json({ user: presentUser(user) }, 200);
  });
}
