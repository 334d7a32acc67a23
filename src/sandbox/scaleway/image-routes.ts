/**
 * Custom images: Block Storage v1 snapshots (under /block/v1/zones/{zone}/)
 * and Instance v1 images (under /instance/v1/zones/{zone}/), in the real
 * paths and bodies. Rules and refusals live in images.ts.
 */
import type { Hono } from 'hono';
import { ApiError } from './model.ts';
import type { ScalewayState } from './state.ts';
import { hasAllTags, imageJson, page, snapshotJson } from './wire.ts';
import { zoneOf, jsonBody } from './route-input.ts';

function text(body: Record<string, unknown>, key: string, required = false): string | undefined {
  const v = body[key];
  if (v === undefined || v === null) {
    if (required) throw ApiError.invalidArgument(key, 'required');
    return undefined;
  }
  if (typeof v !== 'string' || v.length === 0) throw ApiError.invalidArgument(key, 'must be a non-empty string');
  return v;
}

function tagList(body: Record<string, unknown>): string[] {
  const v = body['tags'];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || v.some((t) => typeof t !== 'string')) throw ApiError.invalidArgument('tags', 'must be a list of strings');
  return v as string[];
}

export function registerImageRoutes(app: Hono, state: ScalewayState): void {
  const store = state.images;
  const block = '/block/v1/zones/:zone/snapshots';
  const instance = '/instance/v1/zones/:zone/images';

  app.post(block, async (c) => {
    const body = await jsonBody(c);
    const snapshot = store.createSnapshot(zoneOf(c), {
      volumeId: text(body, 'volume_id', true)!,
      name: text(body, 'name') ?? `snp-${crypto.randomUUID().slice(0, 8)}`,
      project: text(body, 'project_id', true)!,
      tags: tagList(body),
    });
    // Recorded: 200 (not 201), the snapshot still `creating`.
    return c.json(snapshotJson(snapshot, []));
  });

  app.get(block, (c) => {
    const zone = zoneOf(c);
    const q = (k: string) => c.req.query(k);
    const tags = c.req.queries('tags') ?? [];
    const found = [...store.snapshots.values()].filter(
      (s) =>
        s.zone === zone &&
        (!q('project_id') || s.project === q('project_id')) &&
        (!q('volume_id') || s.parentVolume.id === q('volume_id')) &&
        (!q('name') || s.name.includes(q('name')!)) &&
        (tags.length === 0 || tags.some((t) => s.tags.includes(t))),
    );
    const { items, total } = page(found, q('page'), q('page_size'), 50);
    return c.json({ snapshots: items.map((s) => snapshotJson(s, store.usersOf(s.id))), total_count: total });
  });

  app.get(`${block}/:id`, (c) => {
    const snapshot = store.snapshot(zoneOf(c), c.req.param('id'));
    return c.json(snapshotJson(snapshot, store.usersOf(snapshot.id)));
  });

  app.delete(`${block}/:id`, (c) => {
    store.deleteSnapshot(zoneOf(c), c.req.param('id'));
    return c.body(null, 204);
  });

  app.post(instance, async (c) => {
    const body = await jsonBody(c);
    const image = store.createImage(zoneOf(c), {
      name: text(body, 'name', true)!,
      rootVolume: text(body, 'root_volume', true)!,
      project: text(body, 'project', true)!,
      tags: tagList(body),
      arch: text(body, 'arch') ?? 'x86_64',
    });
    return c.json({ image: imageJson(image) }, 201);
  });

  app.get(instance, (c) => {
    const zone = zoneOf(c);
    const project = c.req.query('project');
    const name = c.req.query('name');
    // This account's images only: the public catalogue is the marketplace's, which mailplane reads by label.
    const found = [...store.images.values()].filter(
      (i) => i.zone === zone && hasAllTags(i.tags, c.req.query('tags')) && (!project || i.project === project) && (!name || i.name.includes(name)),
    );
    const { items, total } = page(found, c.req.query('page'), c.req.query('per_page'), 50);
    c.header('X-Total-Count', String(total));
    return c.json({ images: items.map(imageJson) });
  });

  app.get(`${instance}/:id`, (c) => c.json({ image: imageJson(store.image(zoneOf(c), c.req.param('id'))) }));

  app.delete(`${instance}/:id`, (c) => {
    store.deleteImage(zoneOf(c), c.req.param('id'));
    return c.body(null, 204);
  });
}
