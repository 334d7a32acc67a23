/** GET /v1/plans and GET /v1/regions: what can be bought, and where. */
import { createRoute, z } from '@hono/zod-openapi';
import type { ApiDeps } from '../deps.ts';
import type { App } from '../env.ts';
import { jsonResponse } from '../openapi.ts';

const COUNTRY: Record<string, { country: string; city: string }> = {
  'fr-par': { country: 'FR', city: 'Paris' },
  'nl-ams': { country: 'NL', city: 'Amsterdam' },
  'pl-waw': { country: 'PL', city: 'Warsaw' },
};

const PlanSchema = z.object({
  id: z.string(), name: z.string(), commercialType: z.string(), mailboxes: z.number(), storageGb: z.number(), messagesPerHour: z.number(),
}).openapi('Plan');
const RegionSchema = z.object({ zone: z.string(), country: z.string(), city: z.string() }).openapi('Region');

const plans = createRoute({ method: 'get', path: '/v1/plans', tags: ['catalog'], summary: 'Plans on offer',
  responses: { 200: jsonResponse(z.object({ plans: z.array(PlanSchema) }), 'Plans') } });
const regions = createRoute({ method: 'get', path: '/v1/regions', tags: ['catalog'], summary: 'EU zones on offer',
  responses: { 200: jsonResponse(z.object({ regions: z.array(RegionSchema) }), 'Zones') } });

export function registerCatalogRoutes(app: App, deps: ApiDeps): void {
  app.openapi(plans, (c) => c.json({
    plans: deps.config.product.plans.map(({ stripePriceId: _price, ...p }) => p),
  }, 200));
  app.openapi(regions, (c) => c.json({
    regions: deps.config.product.zones.map((zone) => ({ zone, ...(COUNTRY[zone.slice(0, 6)] ?? { country: '??', city: zone }) })),
  }, 200));
}
