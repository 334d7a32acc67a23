/**
 * IPAM v1 routes the adapter uses: list, get and update (reverses) of the
 * IPAM entries behind routed flexible IPs, under /ipam/v1/regions/{region}/.
 */
import type { Context, Hono } from 'hono';
import { ZONES } from '../../providers/compute/interface.ts';
import { prefixContains } from '../../providers/compute/scaleway-ipv6.ts';
import { ApiError, regionOfZone } from './model.ts';
import type { ScalewayState } from './state.ts';
import { ipamJson, ipamResource, page } from './wire.ts';

const REGIONS = new Set(ZONES.map(regionOfZone));
const DEFAULT_PAGE_SIZE = 50;
const HOSTNAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}\.?$/i;

function regionOf(c: Context): string {
  const region = c.req.param('region') ?? '';
  if (!REGIONS.has(region)) throw ApiError.invalidArgument('region', `unknown region ${region}`);
  return region;
}

export function registerIpamRoutes(app: Hono, state: ScalewayState): void {
  const base = '/ipam/v1/regions/:region';

  app.get(`${base}/ips`, (c) => {
    const region = regionOf(c);
    const q = (k: string) => c.req.query(k);
    const ipIds = c.req.queries('ip_ids') ?? [];
    const tags = c.req.queries('tags') ?? [];
    const entries = [...state.ipam.values()].filter(
      (e) =>
        e.region === region &&
        (!q('resource_id') || ipamResource(e, state).id === q('resource_id')) &&
        (!q('resource_type') || ipamResource(e, state).type === q('resource_type')) &&
        (!q('project_id') || e.projectId === q('project_id')) &&
        (!q('zonal') || e.zone === q('zonal')) &&
        (q('is_ipv6') === undefined || String(e.isIpv6) === q('is_ipv6')) &&
        (ipIds.length === 0 || ipIds.includes(e.id)) &&
        // IPAM's tag filter matches any of the given tags.
        (tags.length === 0 || tags.some((t) => e.tags.includes(t))),
    );
    const { items, total } = page(entries, q('page'), q('page_size'), DEFAULT_PAGE_SIZE);
    return c.json({ total_count: total, ips: items.map((e) => ipamJson(e, state)) });
  });

  app.get(`${base}/ips/:id`, (c) => c.json(ipamJson(state.ipamIp(regionOf(c), c.req.param('id')), state)));

  app.patch(`${base}/ips/:id`, async (c) => {
    const entry = state.ipamIp(regionOf(c), c.req.param('id'));
    let body: Record<string, unknown>;
    try {
      body = (await c.req.json()) as Record<string, unknown>;
    } catch {
      throw ApiError.invalid('request body must be a JSON object');
    }
    if (body['reverses'] !== undefined) {
      if (!Array.isArray(body['reverses'])) throw ApiError.invalidArgument('reverses', 'must be a list');
      const reverses = (body['reverses'] as unknown[]).map((r) => {
        const rec = (r ?? {}) as Record<string, unknown>;
        const hostname = rec['hostname'];
        const address = rec['address'] ?? null;
        if (typeof hostname !== 'string' || !HOSTNAME.test(hostname)) throw ApiError.invalidArgument('reverses.hostname', 'must be a domain name');
        if (address !== null && typeof address !== 'string') throw ApiError.invalidArgument('reverses.address', 'must be an IP address');
        // A reverse must name an address inside this IP's own prefix.
        if (typeof address === 'string' && entry.isIpv6 && !safeContains(entry.address, address)) {
          throw ApiError.invalidArgument('reverses.address', `${address} is not in ${entry.address}`);
        }
        if (typeof address === 'string' && !entry.isIpv6 && `${address}/32` !== entry.address) {
          throw ApiError.invalidArgument('reverses.address', `${address} is not ${entry.address}`);
        }
        return { hostname, address };
      });
      for (const r of reverses) if (typeof r.address === 'string') await state.checkReverse(r.hostname, r.address);
      entry.reverses = reverses;
    }
    if (body['tags'] !== undefined) {
      if (!Array.isArray(body['tags'])) throw ApiError.invalidArgument('tags', 'must be a list');
      entry.tags = (body['tags'] as unknown[]).map(String);
    }
    entry.updatedAt = new Date().toISOString();
    return c.json(ipamJson(entry, state));
  });
}

function safeContains(prefix: string, address: string): boolean {
  try {
    return prefixContains(prefix, address);
  } catch {
    return false;
  }
}
