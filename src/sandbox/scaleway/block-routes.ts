/**
 * Block Storage v1 routes (under /block/v1/zones/{zone}/): the only API that
 * can tag, list and delete the `sbs_volume` an instance boots from. Such a
 * volume outlives its server (recorded: after `terminate`, terraform deletes
 * it here once its `references` are empty), so forgetting it leaks a billed disk.
 */
import type { Hono } from 'hono';
import { ApiError } from './model.ts';
import type { ScalewayState } from './state.ts';
import { blockVolumeJson, page } from './wire.ts';
import { zoneOf } from './route-input.ts';

const DEFAULT_PAGE_SIZE = 50;

export function registerBlockRoutes(app: Hono, state: ScalewayState): void {
  const base = '/block/v1/zones/:zone';

  app.get(`${base}/volumes`, (c) => {
    const zone = zoneOf(c);
    const q = (k: string) => c.req.query(k);
    const tags = c.req.queries('tags') ?? [];
    const volumes = [...state.volumes.values()].filter(
      (v) =>
        v.zone === zone &&
        v.volumeType === 'sbs_volume' &&
        (!q('project_id') || v.project === q('project_id')) &&
        (!q('product_resource_id') || v.serverId === q('product_resource_id')) &&
        // Like IPAM, Block's tag filter matches a volume carrying any of the tags.
        (tags.length === 0 || tags.some((t) => v.tags.includes(t))),
    );
    const { items, total } = page(volumes, q('page'), q('page_size'), DEFAULT_PAGE_SIZE);
    return c.json({ volumes: items.map(blockVolumeJson), total_count: total });
  });

  app.get(`${base}/volumes/:id`, (c) => c.json(blockVolumeJson(state.blockVolume(zoneOf(c), c.req.param('id')))));

  app.patch(`${base}/volumes/:id`, async (c) => {
    const volume = state.blockVolume(zoneOf(c), c.req.param('id'));
    let body: Record<string, unknown>;
    try {
      body = (await c.req.json()) as Record<string, unknown>;
    } catch {
      throw ApiError.invalid('request body must be a JSON object');
    }
    if (body['tags'] !== undefined) {
      if (!Array.isArray(body['tags']) || body['tags'].some((t) => typeof t !== 'string')) throw ApiError.invalidArgument('tags', 'must be a list of strings');
      volume.tags = [...(body['tags'] as string[])];
    }
    if (typeof body['name'] === 'string') volume.name = body['name'];
    volume.updatedAt = new Date().toISOString();
    return c.json(blockVolumeJson(volume));
  });

  app.delete(`${base}/volumes/:id`, (c) => {
    state.deleteBlockVolume(zoneOf(c), c.req.param('id'));
    return c.body(null, 204);
  });
}
