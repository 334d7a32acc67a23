/**
 * GET /v1/plans and GET /v1/regions: what can be bought, and where. A plan is
 * offered only in the zones that sell one of its instance types (Scaleway's
 * catalogue, cached by the compute adapter); a region is listed with the plans
 * it can serve, and only if it serves one.
 */
import { createRoute, z } from '@hono/zod-openapi';
import type { Plan } from '../../config.ts';
import type { ApiDeps } from '../deps.ts';
import type { App } from '../env.ts';
import { jsonResponse } from '../openapi.ts';
import { mailboxQuotaMb } from '../../config.ts';

const COUNTRY: Record<string, { country: string; city: string }> = {
  'fr-par': { country: 'FR', city: 'Paris' },
  'nl-ams': { country: 'NL', city: 'Amsterdam' },
  'pl-waw': { country: 'PL', city: 'Warsaw' },
};

const PlanZoneSchema = z.object({ zone: z.string(), commercialType: z.string() }).openapi('PlanZone');
const PlanSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    commercialType: z.string().openapi({ description: 'The preferred instance type; `zones` says which type each zone gives' }),
    mailboxes: z.number(),
    storageGb: z.number().openapi({ description: 'Storage shared by all the mailboxes of the server' }),
    mailboxQuotaGb: z.number().openapi({ description: 'How much of it one mailbox may use (its quota)' }),
    messagesPerHour: z.number(),
    zones: z.array(PlanZoneSchema).openapi({ description: 'The zones this plan is sold in, each with the instance type it gets there' }),
  })
  .openapi('Plan');
const RegionSchema = z
  .object({
    zone: z.string(),
    country: z.string(),
    city: z.string(),
    plans: z.array(z.string()).openapi({ description: 'Ids of the plans sold in this zone' }),
  })
  .openapi('Region');

const plans = createRoute({
  method: 'get',
  path: '/v1/plans',
  tags: ['catalog'],
  summary: 'Plans on offer, with the zones each is sold in',
  responses: { 200: jsonResponse(z.object({ plans: z.array(PlanSchema) }), 'Plans') },
});
const regions = createRoute({
  method: 'get',
  path: '/v1/regions',
  tags: ['catalog'],
  summary: 'EU zones on offer, with the plans each sells',
  responses: { 200: jsonResponse(z.object({ regions: z.array(RegionSchema) }), 'Zones') },
});

/** Each plan's zones: from the catalogue when provisioning is wired, else every configured zone with the preferred type. */
export async function planZones(deps: ApiDeps): Promise<{ plan: Plan; zones: { zone: string; commercialType: string }[] }[]> {
  const placements = deps.provisioning?.placements;
  return Promise.all(
    deps.config.product.plans.map(async (plan) => ({
      plan,
      zones: placements ? await placements.sellableZones(plan) : deps.config.product.zones.map((zone) => ({ zone, commercialType: plan.commercialType })),
    })),
  );
}

export function registerCatalogRoutes(app: App, deps: ApiDeps): void {
  app.openapi(plans, async (c) =>
    c.json(
      {
        plans: (await planZones(deps)).map(({ plan: { stripePriceId: _price, fallbackTypes: _fallbacks, ...p }, zones }) => ({
          ...p,
          mailboxQuotaGb: mailboxQuotaMb(p) / 1024,
          zones,
        })),
      },
      200,
    ),
  );
  app.openapi(regions, async (c) => {
    const sold = await planZones(deps);
    return c.json(
      {
        regions: deps.config.product.zones
          .map((zone) => ({
            zone,
            ...(COUNTRY[zone.slice(0, 6)] ?? { country: '??', city: zone }),
            plans: sold.filter((s) => s.zones.some((z) => z.zone === zone)).map((s) => s.plan.id),
          }))
          .filter((r) => r.plans.length > 0),
      },
      200,
    );
  });
}
