/** Pre-baked mail-server images (ops): the bakes per zone, and starting one now. */
import { createRoute, z } from '@hono/zod-openapi';
import { ZONES } from '../../providers/compute/interface.ts';
import { BAKE_PHASES, IMAGE_STATUSES } from '../../db/schema/index.ts';
import { listImages, startBake, type BakeRow } from '../../../provisioning/image-refresh.ts';
import { packageDigest } from '../../mailstack/packages.ts';
import type { Clock } from '../../clock.ts';
import type { ProvisioningApiDeps } from '../deps.ts';
import type { App } from '../env.ts';
import { requireStaff } from '../middleware/authenticate.ts';
import { bearer, jsonResponse, problems } from '../openapi.ts';

const OPS = ['ops'] as const;

const MailImage = z
  .object({
    id: z.string(),
    zone: z.string(),
    packageDigest: z.string(),
    status: z.enum(IMAGE_STATUSES),
    phase: z.enum(BAKE_PHASES),
    reason: z.string(),
    imageId: z.string().nullable(),
    attempts: z.number(),
    error: z.string().nullable(),
    createdAt: z.string(),
    finishedAt: z.string().nullable(),
  })
  .openapi('MailImage');

const view = (r: BakeRow): z.infer<typeof MailImage> => ({
  id: r.id,
  zone: r.zone,
  packageDigest: r.packageDigest,
  status: r.status,
  phase: r.phase,
  reason: r.reason,
  imageId: r.imageId,
  attempts: r.attempts,
  error: r.error,
  createdAt: r.createdAt.toISOString(),
  finishedAt: r.finishedAt?.toISOString() ?? null,
});

const routes = {
  list: createRoute({
    method: 'get',
    path: '/v1/admin/images',
    tags: ['admin'],
    security: bearer,
    summary: 'Pre-baked mail-server images per zone (newest first) and the current package digest',
    responses: { 200: jsonResponse(z.object({ packageDigest: z.string(), images: z.array(MailImage) }), 'Images'), ...problems(401, 403) },
  }),
  bake: createRoute({
    method: 'post',
    path: '/v1/admin/images/bake',
    tags: ['admin'],
    security: bearer,
    summary: "Bake a zone's mail-server image now (answers the bake under way, if any)",
    request: { body: { required: true, content: { 'application/json': { schema: z.object({ zone: z.enum(ZONES) }).strict() } } } },
    responses: { 202: jsonResponse(z.object({ started: z.boolean(), image: MailImage }), 'Bake started or already under way'), ...problems(400, 401, 403) },
  }),
};

/** `clock`: when a bake started by hand is stamped (the API's clock). */
export function registerAdminImageRoutes(app: App, p: ProvisioningApiDeps, clock: Clock): void {
  app.openapi(routes.list, async (c) => {
    requireStaff(c, OPS);
    return c.json({ packageDigest: packageDigest(), images: (await listImages(p.database)).map(view) }, 200);
  });
  app.openapi(routes.bake, async (c) => {
    requireStaff(c, OPS);
    const { zone } = c.req.valid('json');
    const { bake, started } = await startBake({ database: p.database, queue: p.queue, clock, imageZones: [] }, zone, 'manual', c.get('actor'));
    return c.json({ started, image: view(bake) }, 202);
  });
}
