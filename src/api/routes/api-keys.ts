/** API keys of a workspace. */
import { createRoute, z } from '@hono/zod-openapi';
import { API_KEY_SCOPES } from '../../auth/api-keys.ts';
import { authorizeWorkspace } from '../../workspaces/access.ts';
import { createApiKey, listApiKeys, revokeApiKey, rotateApiKey } from '../../workspaces/api-keys.ts';
import type { ApiDeps } from '../deps.ts';
import type { App } from '../env.ts';
import { bearer, jsonBody, jsonResponse, pathId, problems, WorkspaceParam } from '../openapi.ts';
import { iso } from './schemas.ts';

const ApiKeySchema = z
  .object({
    id: z.string(),
    name: z.string(),
    prefix: z.string(),
    scopes: z.array(z.enum(API_KEY_SCOPES)),
    createdAt: z.string(),
    lastUsedAt: z.string().nullable(),
    revokedAt: z.string().nullable(),
  })
  .openapi('ApiKey');
const KeyParams = WorkspaceParam.extend({ keyId: pathId('keyId') });
const Created = jsonResponse(z.object({ apiKey: ApiKeySchema, key: z.string() }), 'The key, shown only now');

const tag = ['api-keys'];
const routes = {
  create: createRoute({
    method: 'post',
    path: '/v1/workspaces/{ws}/api-keys',
    tags: tag,
    summary: 'Create an API key',
    security: bearer,
    request: {
      params: WorkspaceParam,
      body: jsonBody(z.strictObject({ name: z.string().trim().min(1).max(100), scopes: z.array(z.enum(API_KEY_SCOPES)).min(1) })),
    },
    responses: { 201: Created, ...problems(401, 403, 404) },
  }),
  list: createRoute({
    method: 'get',
    path: '/v1/workspaces/{ws}/api-keys',
    tags: tag,
    summary: 'API keys (never the secrets)',
    security: bearer,
    request: { params: WorkspaceParam },
    responses: { 200: jsonResponse(z.object({ apiKeys: z.array(ApiKeySchema) }), 'Keys'), ...problems(401, 403, 404) },
  }),
  revoke: createRoute({
    method: 'delete',
    path: '/v1/workspaces/{ws}/api-keys/{keyId}',
    tags: tag,
    summary: 'Revoke an API key',
    security: bearer,
    request: { params: KeyParams },
    responses: { 204: { description: 'Revoked' }, ...problems(401, 403, 404) },
  }),
  rotate: createRoute({
    method: 'post',
    path: '/v1/workspaces/{ws}/api-keys/{keyId}/rotate',
    tags: tag,
    summary: 'Replace a key with a new one',
    security: bearer,
    request: { params: KeyParams },
    responses: { 201: Created, ...problems(401, 403, 404) },
  }),
};

type Row = Awaited<ReturnType<typeof listApiKeys>>[number];
const present = (k: Row) => ({
  id: k.id,
  name: k.name,
  prefix: k.prefix,
  scopes: k.scopes as Array<(typeof API_KEY_SCOPES)[number]>,
  createdAt: k.createdAt.toISOString(),
  lastUsedAt: iso(k.lastUsedAt),
  revokedAt: iso(k.revokedAt),
});

export function registerApiKeyRoutes(app: App, deps: ApiDeps): void {
  const { db } = deps;
  app.openapi(routes.create, async (c) => {
    const access = await authorizeWorkspace(db, c.get('principal'), c.req.valid('param').ws, 'apikeys.manage');
    const { apiKey, key } = await createApiKey(db, c.get('actor'), access, c.req.valid('json'));
    return c.json({ apiKey: present(apiKey), key }, 201);
  });
  app.openapi(routes.list, async (c) => {
    const access = await authorizeWorkspace(db, c.get('principal'), c.req.valid('param').ws, 'apikeys.read');
    return c.json({ apiKeys: (await listApiKeys(db, access.workspaceId)).map(present) }, 200);
  });
  app.openapi(routes.revoke, async (c) => {
    const { ws, keyId } = c.req.valid('param');
    const access = await authorizeWorkspace(db, c.get('principal'), ws, 'apikeys.manage');
    await revokeApiKey(db, c.get('actor'), access, keyId);
    return c.body(null, 204);
  });
  app.openapi(routes.rotate, async (c) => {
    const { ws, keyId } = c.req.valid('param');
    const access = await authorizeWorkspace(db, c.get('principal'), ws, 'apikeys.manage');
    const { apiKey, key } = await rotateApiKey(db, c.get('actor'), access, keyId);
    return c.json({ apiKey: present(apiKey), key }, 201);
  });
}
