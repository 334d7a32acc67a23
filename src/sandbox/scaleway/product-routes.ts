/**
 * What Scaleway sells where: `GET /instance/v1/zones/{zone}/products/servers`
 * and `…/products/servers/availability` (recorded shapes: a map keyed by
 * commercial type, paged with per_page/page and an X-Total-Count header), and
 * the checks `POST /servers` makes against it: a commercial type the zone does
 * not sell is refused, and so is a boot volume Scaleway would not create.
 */
import type { Context, Hono } from 'hono';
import { IMAGE_VOLUME_BYTES, SBS_MAX_BYTES, type InstanceCatalogue } from './catalogue.ts';
import { ApiError, type EmuVolume } from './model.ts';
import { zoneOf } from './route-input.ts';

const DEFAULT_PER_PAGE = 50;

/** One page of a map keyed by commercial type, as Instance v1 pages its lists. */
function pagedMap(c: Context, types: string[], entry: (type: string) => Record<string, unknown>): Response {
  const perPage = Math.min(100, Math.max(1, Number(c.req.query('per_page') ?? DEFAULT_PER_PAGE) || DEFAULT_PER_PAGE));
  const pageNo = Math.max(1, Number(c.req.query('page') ?? 1) || 1);
  const slice = types.slice((pageNo - 1) * perPage, pageNo * perPage);
  c.header('X-Total-Count', String(types.length));
  return c.json({ servers: Object.fromEntries(slice.map((t) => [t, entry(t)])) });
}

export function registerProductRoutes(app: Hono, catalogue: InstanceCatalogue): void {
  const base = '/instance/v1/zones/:zone/products/servers';
  app.get(base, (c) => pagedMap(c, catalogue.types(zoneOf(c)), (t) => catalogue.typeJson(t)));
  app.get(`${base}/availability`, (c) => {
    const zone = zoneOf(c);
    return pagedMap(c, catalogue.types(zone), (t) => ({ availability: catalogue.availabilityOf(zone, t) }));
  });
}

/** The boot volume `POST /servers` asks for: `volumes: {"0": {size, volume_type}}`, or the image's default. */
export interface RootVolumeRequest {
  size: number;
  volumeType: EmuVolume['volumeType'];
}

const invalid = (field: string, help: string) => ApiError.invalidArgument(field, help);

/**
 * Refuses what Scaleway refuses at creation, in its `invalid_arguments` shape (the SDKs show
 * "<argument_name> does not respect constraint, <help_message>"):
 * - a commercial type the zone does not sell (absent from its products/servers);
 * - `b_ssd` (Scaleway's own help message), an unknown volume type;
 * - an sbs boot volume smaller than the image's (10 GB) or larger than 10 TB;
 * - l_ssd on a type without local storage, or over its `volumes_constraint`.
 */
export function checkServerRequest(catalogue: InstanceCatalogue, zone: string, commercialType: string, volumes: unknown): RootVolumeRequest {
  if (!catalogue.sells(zone, commercialType) || !catalogue.spec(commercialType)) {
    throw invalid('commercial_type', `${commercialType} is not available in zone ${zone}`);
  }
  if (volumes === undefined || volumes === null) return { size: IMAGE_VOLUME_BYTES, volumeType: 'sbs_volume' };
  if (typeof volumes !== 'object' || Array.isArray(volumes)) throw invalid('volumes', 'must be a map of volume templates keyed by index');
  const root = (volumes as Record<string, unknown>)['0'];
  if (!root || typeof root !== 'object') throw invalid('volumes.0', 'the boot volume template is required');
  const { size, volume_type: type } = root as { size?: unknown; volume_type?: unknown };
  if (type === 'b_ssd') {
    throw invalid(
      'volumes.0.volume_type',
      'b_ssd volumes are no longer supported. Create volumes with volume_type=sbs_volume instead. More details at https://www.scaleway.com/en/developers/api/instance/#technical-information',
    );
  }
  if (type !== undefined && type !== 'sbs_volume' && type !== 'l_ssd') throw invalid('volumes.0.volume_type', `unknown volume type ${String(type)}`);
  if (size !== undefined && (typeof size !== 'number' || !Number.isSafeInteger(size) || size <= 0))
    throw invalid('volumes.0.size', 'must be a positive number of bytes');
  const volumeType = type === 'l_ssd' ? 'l_ssd' : 'sbs_volume';
  const bytes = (size as number | undefined) ?? IMAGE_VOLUME_BYTES;
  if (volumeType === 'sbs_volume') {
    if (bytes < IMAGE_VOLUME_BYTES) throw invalid('volumes.0.size', `size must be at least ${IMAGE_VOLUME_BYTES} bytes (the image's volume)`);
    if (bytes > SBS_MAX_BYTES) throw invalid('volumes.0.size', `size must be at most ${SBS_MAX_BYTES} bytes`);
  } else {
    const maxGb = catalogue.spec(commercialType)!.localMaxGb;
    if (maxGb === 0) throw invalid('volumes.0.volume_type', `${commercialType} instances have no local volumes; use volume_type=sbs_volume`);
    if (bytes > maxGb * 1_000_000_000) throw invalid('volumes', `the total size of local-volume(s) of ${commercialType} instances must be at most ${maxGb}GB`);
  }
  return { size: bytes, volumeType };
}
