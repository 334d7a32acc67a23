/**
 * Where a plan can be sold: a plan names a preferred instance type and
 * fallbacks; in each zone it gets the first of them the zone sells and has in
 * stock (Scaleway's catalogue, read through the compute provider, which caches
 * it). A zone where none is sold is neither offered nor accepted, so a customer
 * never pays for a server create_server cannot make (DEV1 types are not sold
 * in fr-par-3, nl-ams-3 or pl-waw-3).
 */
import type { Plan } from '../config.ts';
import type { ComputeProvider, ServerTypeOffer, Zone } from '../providers/compute/interface.ts';

export type PlanTypes = Pick<Plan, 'id' | 'name' | 'commercialType' | 'fallbackTypes'>;

/** The type a plan gets in a zone, or why it gets none (`shortage`: sold, but out of stock now). */
export type ZoneType = { commercialType: string } | { refused: 'not_sold' | 'shortage' };

/** The plan's types in order of preference. */
export const typesOf = (plan: PlanTypes): string[] => [plan.commercialType, ...plan.fallbackTypes.filter((t) => t !== plan.commercialType)];

export function typeForZone(plan: PlanTypes, offers: ServerTypeOffer[]): ZoneType {
  const sold = typesOf(plan)
    .map((t) => offers.find((o) => o.commercialType === t))
    .filter((o) => o !== undefined);
  const inStock = sold.find((o) => o.availability !== 'shortage');
  if (inStock) return { commercialType: inStock.commercialType };
  return { refused: sold.length > 0 ? 'shortage' : 'not_sold' };
}

export interface Placements {
  /** The type this plan gets in this zone (the zone must be one the product offers). */
  typeFor(plan: PlanTypes, zone: string): Promise<ZoneType>;
  /** For each offered zone, the type the plan gets there; zones whose catalogue cannot be read are left out. */
  sellableZones(plan: PlanTypes): Promise<{ zone: string; commercialType: string }[]>;
}

export function createPlacements(deps: { compute: Pick<ComputeProvider, 'serverTypes'>; zones: string[] }): Placements {
  const typeFor = async (plan: PlanTypes, zone: string): Promise<ZoneType> => {
    if (!deps.zones.includes(zone)) return { refused: 'not_sold' };
    return typeForZone(plan, await deps.compute.serverTypes(zone as Zone));
  };
  return {
    typeFor,
    async sellableZones(plan) {
      const found = await Promise.all(
        deps.zones.map(async (zone) => {
          // One zone's catalogue failing (and never read before) hides that zone, not the others.
          const type = await typeFor(plan, zone).catch(() => null);
          return type && 'commercialType' in type ? { zone, commercialType: type.commercialType } : null;
        }),
      );
      return found.filter((z) => z !== null);
    },
  };
}

/** The sentence a customer reads when a plan cannot be had in a zone. */
export function refusalText(plan: PlanTypes, zone: string, refused: 'not_sold' | 'shortage'): string {
  return refused === 'shortage'
    ? `The ${plan.name} plan is out of stock in ${zone} right now; choose another region or try again later`
    : `The ${plan.name} plan is not sold in ${zone}: its servers (${typesOf(plan).join(', ')}) do not exist there; choose another region`;
}
