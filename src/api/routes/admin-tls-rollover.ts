/**
 * A TLS key rollover (src/servers/tls-rollover.ts) for support and ops: the TLSA records of the
 * current and the next key are published first, the key switches after their TTL, then the old
 * record goes. 202 with the run to follow.
 */
import { createRoute, z } from '@hono/zod-openapi';
import { findServer } from '../../servers/views.ts';
import { startTlsRollover } from '../../servers/tls-rollover.ts';
import type { ApiDeps, ProvisioningApiDeps } from '../deps.ts';
import type { App } from '../env.ts';
import { requireStaff } from '../middleware/authenticate.ts';
import { bearer, jsonResponse, pathId, problems } from '../openapi.ts';

const Params = z.object({ id: pathId('id') });
const Body = z.strictObject({
  reason: z
    .string()
    .trim()
    .min(3)
    .max(300)
    .openapi({ description: 'Why, in a sentence (kept in the audit log)', example: 'the key may have been copied off the host' }),
  keyType: z.enum(['ecdsa', 'rsa']).default('ecdsa').openapi({ description: 'The next key: ECDSA P-256 (as issued) or RSA-2048' }),
});
const Started = z.object({ runId: z.string() }).openapi('TlsRolloverStarted');

const route = createRoute({
  method: 'post',
  path: '/v1/admin/servers/{id}/tls/rollover',
  tags: ['admin'],
  security: bearer,
  summary: "Change the TLS key behind the TLSA record: both keys' TLSA published first, the key switched after their TTL, the old record removed",
  request: { params: Params, body: { content: { 'application/json': { schema: Body } }, required: true } },
  responses: { 202: jsonResponse(Started, 'The rollover run started'), ...problems(400, 401, 403, 404, 409) },
});

export function registerTlsRolloverRoutes(app: App, deps: ApiDeps, p: ProvisioningApiDeps): void {
  app.openapi(route, async (c) => {
    requireStaff(c, ['support', 'ops']);
    const server = await findServer(deps.db, c.req.valid('param').id);
    return c.json(await startTlsRollover(p, c.get('actor'), { serverId: server.id, ...c.req.valid('json') }), 202);
  });
}
