/**
 * What Scaleway sells in a zone: `GET /products/servers` (the types) joined
 * with `GET /products/servers/availability` (their stock), both paged with
 * X-Total-Count. The answers change rarely and checkout and create_server ask
 * often, so each zone's answer is kept for a TTL, concurrent askers share one
 * request, and when Scaleway fails a stale answer is better than none.
 */
import type { Instancev1 } from '@scaleway/sdk-instance';
import type { Clock } from '../../clock.ts';
import type { ServerTypeOffer, TypeAvailability, Zone } from './interface.ts';

const PER_PAGE = 100;

type Paged<T> = (page: number) => Promise<{ servers: Record<string, T>; totalCount: number }>;

async function allPages<T>(fetchPage: Paged<T>): Promise<Record<string, T>> {
  const all: Record<string, T> = {};
  for (let page = 1; ; page++) {
    const res = await fetchPage(page);
    Object.assign(all, res.servers);
    const seen = Object.keys(all).length;
    if (Object.keys(res.servers).length === 0 || seen >= res.totalCount) return all;
  }
}

export interface CatalogueCache {
  serverTypes(zone: Zone): Promise<ServerTypeOffer[]>;
}

export function createCatalogueCache(opts: {
  instance: Pick<Instancev1.API, 'listServersTypes' | 'getServerTypesAvailability'>;
  call: <T>(fn: () => Promise<T>) => Promise<T>;
  clock: Clock;
  ttlMs: number;
}): CatalogueCache {
  const cached = new Map<Zone, { at: number; offers: ServerTypeOffer[] }>();
  const inFlight = new Map<Zone, Promise<ServerTypeOffer[]>>();

  async function read(zone: Zone): Promise<ServerTypeOffer[]> {
    const [types, stock] = await Promise.all([
      allPages((page) => opts.call(() => opts.instance.listServersTypes({ zone, page, perPage: PER_PAGE }))),
      allPages((page) => opts.call(() => opts.instance.getServerTypesAvailability({ zone, page, perPage: PER_PAGE }))),
    ]);
    const offers = Object.keys(types)
      .filter((t) => !types[t]?.endOfService)
      .map((commercialType) => ({
        commercialType,
        availability: (stock[commercialType]?.availability ?? 'unknown') as TypeAvailability,
      }));
    cached.set(zone, { at: opts.clock.now(), offers });
    return offers;
  }

  return {
    async serverTypes(zone) {
      const hit = cached.get(zone);
      if (hit && opts.clock.now() - hit.at < opts.ttlMs) return hit.offers;
      let pending = inFlight.get(zone);
      if (!pending) {
        pending = read(zone).finally(() => inFlight.delete(zone));
        inFlight.set(zone, pending);
      }
      try {
        return await pending;
      } catch (err) {
        if (hit) return hit.offers;
        throw err;
      }
    },
  };
}
