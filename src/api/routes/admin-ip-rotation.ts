/** Rotating a live server's IP (ops staff): starts a durable rotate_ip run and answers with its id. */
import { createRoute, z } from '@hono/zod-openapi';
import { isIP } from 'node:net';
import { startIpRotation } from '../../ops/rotation.ts';
import { findServer } from '../../servers/views.ts';
import type { ApiDeps, ProvisioningApiDeps } from '../deps.ts';
import type { App } from '../env.ts';
import { requireStaff } from '../middleware/authenticate.ts';
import { bearer, jsonResponse, pathId, problems } from '../openapi.ts';

const route = createRoute({
  method: 'post',
  path: '/v1/admin/servers/{id}/ips/{ip}/rotate',
  tags: ['admin'],
  security: bearer,
  summary: 'Replace a live server IP: new IP reserved and checked, attached, DNS and PTR repointed, old IP released',
  request: {
    params: z.object({
      id: pathId('id'),
      ip: z
        .string()
        .max(45)
        .refine((v) => isIP(v) !== 0, 'not an IP address')
        .openapi({ param: { name: 'ip', in: 'path' }, example: '192.0.2.10' }),
    }),
  },
  responses: {
    202: jsonResponse(z.object({ runId: z.string(), address: z.string() }), 'Rotation run started; follow it with GET /v1/admin/servers/{id}'),
    ...problems(401, 403, 404, 409),
  },
});

export function registerAdminIpRotationRoutes(app: App, deps: ApiDeps, p: ProvisioningApiDeps): void {
  app.openapi(route, async (c) => {
    requireStaff(c, ['ops']);
    const { id, ip } = c.req.valid('param');
    const server = await findServer(deps.db, id);
    const started = await startIpRotation(p, c.get('actor'), { serverId: server.id, address: ip, reason: 'requested by ops' });
    return c.json(started, 202);
  });
}
