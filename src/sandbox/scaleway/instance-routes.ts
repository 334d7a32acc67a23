/**
 * Instance v1 routes the adapter uses: servers (create, get, list, delete,
 * action), user data, flexible IPs, volume delete. Paths and bodies are the
 * real API's, under /instance/v1/zones/{zone}/.
 */
import type { Context, Hono } from 'hono';
import type { InstanceCatalogue } from './catalogue.ts';
import { ApiError } from './model.ts';
import { checkServerRequest } from './product-routes.ts';
import type { ScalewayState } from './state.ts';
import type { SecurityGroups } from './security-groups.ts';
import { hasAllTags, ipJson, page, serverJson } from './wire.ts';
import { zoneOf, jsonBody } from './route-input.ts';

const DEFAULT_PER_PAGE = 50;

function str(body: Record<string, unknown>, key: string, required = false): string | undefined {
  const v = body[key];
  if (v === undefined || v === null) {
    if (required) throw ApiError.invalidArgument(key, 'required');
    return undefined;
  }
  if (typeof v !== 'string') throw ApiError.invalidArgument(key, 'must be a string');
  return v;
}

function strings(body: Record<string, unknown>, key: string): string[] {
  const v = body[key];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw ApiError.invalidArgument(key, 'must be a list of strings');
  return v as string[];
}

function listed(c: Context, items: Record<string, unknown>[], key: string): Response {
  const { items: slice, total } = page(items, c.req.query('page'), c.req.query('per_page'), DEFAULT_PER_PAGE);
  c.header('X-Total-Count', String(total));
  return c.json({ [key]: slice });
}

export function registerInstanceRoutes(app: Hono, state: ScalewayState, groups: SecurityGroups, catalogue: InstanceCatalogue): void {
  const base = '/instance/v1/zones/:zone';

  app.post(`${base}/servers`, async (c) => {
    const zone = zoneOf(c);
    const body = await jsonBody(c);
    // Dynamic (non-flexible) IPs are not emulated; mailplane never asks for one.
    if (body['dynamic_ip_required'] !== false) throw ApiError.invalidArgument('dynamic_ip_required', 'the emulator only supports false');
    const securityGroupId = str(body, 'security_group') ?? null;
    if (securityGroupId) groups.get(zone, securityGroupId);
    const commercialType = str(body, 'commercial_type', true)!;
    const root = checkServerRequest(catalogue, zone, commercialType, body['volumes']);
    const image = str(body, 'image', true)!;
    // A custom image is per zone and its snapshot must fit in the boot volume.
    const boot = state.images.bootSource(zone, image, root.size);
    const server = state.createServer(zone, {
      boot,
      securityGroupId,
      rootVolumeType: root.volumeType,
      rootVolumeBytes: root.size,
      name: str(body, 'name', true)!,
      project: str(body, 'project', true)!,
      commercialType,
      image,
      tags: strings(body, 'tags'),
      publicIps: strings(body, 'public_ips'),
    });
    return c.json({ server: serverJson(server, state) }, 201);
  });

  app.get(`${base}/servers`, (c) => {
    const zone = zoneOf(c);
    const project = c.req.query('project');
    const name = c.req.query('name');
    const servers = [...state.servers.values()].filter(
      (s) => s.zone === zone && hasAllTags(s.tags, c.req.query('tags')) && (!project || s.project === project) && (!name || s.name.includes(name)),
    );
    return listed(
      c,
      servers.map((s) => serverJson(s, state)),
      'servers',
    );
  });

  app.get(`${base}/servers/:id`, (c) => c.json({ server: serverJson(state.server(zoneOf(c), c.req.param('id')), state) }));

  app.delete(`${base}/servers/:id`, (c) => {
    state.deleteServer(zoneOf(c), c.req.param('id'));
    return c.body(null, 204);
  });

  app.post(`${base}/servers/:id/action`, async (c) => {
    const zone = zoneOf(c);
    const id = c.req.param('id');
    const action = str(await jsonBody(c), 'action') ?? 'poweron';
    state.action(zone, id, action);
    const now = new Date().toISOString();
    return c.json(
      {
        task: {
          id: crypto.randomUUID(),
          description: `server_${action}`,
          status: 'pending',
          progress: 0,
          zone,
          href_from: `/servers/${id}/action`,
          href_result: `/servers/${id}`,
          started_at: now,
          terminated_at: null,
        },
      },
      202,
    );
  });

  app.get(`${base}/servers/:id/user_data`, (c) => {
    const server = state.server(zoneOf(c), c.req.param('id'));
    return c.json({ user_data: [...server.userData.keys()] });
  });

  app.get(`${base}/servers/:id/user_data/:key`, (c) => {
    const server = state.server(zoneOf(c), c.req.param('id'));
    const value = server.userData.get(c.req.param('key'));
    if (value === undefined) throw ApiError.notFound('instance_user_data', c.req.param('key'));
    return c.body(value, 200, { 'Content-Type': 'text/plain' });
  });

  app.patch(`${base}/servers/:id/user_data/:key`, async (c) => {
    const server = state.server(zoneOf(c), c.req.param('id'));
    // The real API takes the raw content as text/plain, not JSON.
    if (!(c.req.header('content-type') ?? '').startsWith('text/plain')) throw ApiError.invalid('user data must be sent as text/plain');
    server.userData.set(c.req.param('key'), await c.req.text());
    return c.body(null, 204);
  });

  app.delete(`${base}/servers/:id/user_data/:key`, (c) => {
    const server = state.server(zoneOf(c), c.req.param('id'));
    if (!server.userData.delete(c.req.param('key'))) throw ApiError.notFound('instance_user_data', c.req.param('key'));
    return c.body(null, 204);
  });

  app.post(`${base}/ips`, async (c) => {
    const zone = zoneOf(c);
    const body = await jsonBody(c);
    const type = str(body, 'type') ?? 'routed_ipv4';
    if (type !== 'routed_ipv4' && type !== 'routed_ipv6') throw ApiError.invalidArgument('type', 'must be routed_ipv4 or routed_ipv6');
    const ip = state.createIp(zone, { type, project: str(body, 'project', true)!, tags: strings(body, 'tags'), server: str(body, 'server') });
    return c.json({ ip: ipJson(ip, state) }, 201);
  });

  app.get(`${base}/ips`, (c) => {
    const zone = zoneOf(c);
    const project = c.req.query('project');
    const type = c.req.query('type');
    const ips = [...state.ips.values()].filter(
      (ip) => ip.zone === zone && hasAllTags(ip.tags, c.req.query('tags')) && (!project || ip.project === project) && (!type || ip.type === type),
    );
    return listed(
      c,
      ips.map((ip) => ipJson(ip, state)),
      'ips',
    );
  });

  app.get(`${base}/ips/:ip`, (c) => c.json({ ip: ipJson(state.ip(zoneOf(c), c.req.param('ip')), state) }));

  app.patch(`${base}/ips/:ip`, async (c) => {
    const zone = zoneOf(c);
    const body = await jsonBody(c);
    const patch: { reverse?: string | null; server?: string | null; tags?: string[] } = {};
    if ('reverse' in body) patch.reverse = body['reverse'] === null ? null : str(body, 'reverse')!;
    if ('server' in body) patch.server = body['server'] === null ? null : str(body, 'server')!;
    if ('tags' in body) patch.tags = strings(body, 'tags');
    const current = state.ip(zone, c.req.param('ip'));
    if (patch.reverse && current.type === 'routed_ipv4') await state.checkReverse(patch.reverse, current.address);
    return c.json({ ip: ipJson(state.updateIp(zone, c.req.param('ip'), patch), state) });
  });

  app.delete(`${base}/ips/:ip`, (c) => {
    state.deleteIp(zoneOf(c), c.req.param('ip'));
    return c.body(null, 204);
  });

  app.delete(`${base}/volumes/:id`, (c) => {
    state.deleteVolume(zoneOf(c), c.req.param('id'));
    return c.body(null, 204);
  });
}
