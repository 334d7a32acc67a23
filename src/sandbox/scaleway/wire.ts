/**
 * The emulator's records rendered in Scaleway's JSON (snake_case, the field
 * set the SDK unmarshals), plus pagination the way each API does it:
 * Instance v1 reports the total in an `X-Total-Count` header, IPAM v1 in a
 * `total_count` body field.
 */
import type { Context } from 'hono';
import { ApiError, type EmuImage, type EmuIp, type EmuIpamIp, type EmuServer, type EmuSnapshot, type EmuVolume } from './model.ts';
import type { ScalewayState } from './state.ts';

const ORGANIZATION = '11111111-1111-4111-8111-111111111111';

export function errorResponse(c: Context, err: ApiError): Response {
  return c.json(err.body(), err.status as 400);
}

export function page<T>(items: T[], pageParam: string | undefined, sizeParam: string | undefined, defaultSize: number): { items: T[]; total: number } {
  const pageNo = pageParam === undefined ? 1 : Number(pageParam);
  const size = sizeParam === undefined ? defaultSize : Number(sizeParam);
  if (!Number.isInteger(pageNo) || pageNo < 1) throw ApiError.invalidArgument('page', 'must be a positive integer');
  if (!Number.isInteger(size) || size < 1 || size > 100) throw ApiError.invalidArgument('per_page', 'must be between 1 and 100');
  return { items: items.slice((pageNo - 1) * size, pageNo * size), total: items.length };
}

/** Instance `tags` filter: comma-separated, every tag must be present. */
export function hasAllTags(itemTags: string[], param: string | undefined): boolean {
  if (!param) return true;
  return param
    .split(',')
    .filter(Boolean)
    .every((t) => itemTags.includes(t));
}

export function ipJson(ip: EmuIp, state: ScalewayState): Record<string, unknown> {
  const server = ip.serverId ? state.servers.get(ip.serverId) : undefined;
  const v6 = ip.type === 'routed_ipv6';
  return {
    id: ip.id,
    // Recorded shapes: a routed IPv6 has `address: null` and its /64 in `prefix`; an IPv4 has `prefix: null`.
    address: v6 ? null : ip.address,
    prefix: v6 ? ip.address : null,
    reverse: ip.reverse,
    server: server ? { id: server.id, name: server.name } : null,
    organization: ORGANIZATION,
    project: ip.project,
    tags: ip.tags,
    type: ip.type,
    state: server ? 'attached' : 'detached',
    ipam_id: ip.ipamId,
    zone: ip.zone,
  };
}

function serverIpJson(ip: EmuIp, state: ScalewayState): Record<string, unknown> {
  const v6 = ip.type === 'routed_ipv6';
  return {
    id: ip.id,
    // For IPv6, the SLAAC address the instance configures (not the prefix, not ::1).
    address: state.hostAddress(ip),
    gateway: v6 ? 'fe80::dc00:1ff:fe27:16ca' : '62.210.0.1',
    netmask: v6 ? '64' : '32',
    family: v6 ? 'inet6' : 'inet',
    dynamic: false,
    provisioning_mode: v6 ? 'slaac' : 'dhcp',
    tags: ip.tags,
    ipam_id: ip.ipamId,
    state: 'attached',
  };
}

/**
 * Recorded (terraform-provider-scaleway cassettes, 2026-07-30). `stopped in place` may be
 * terminated directly. Recorded `starting` and `stopping` also list `stop_in_place` and
 * `backup`; the emulator does not accept those mid-transition, so it does not list them.
 */
const ALLOWED_ACTIONS: Record<EmuServer['state'], string[]> = {
  stopped: ['poweron', 'backup'],
  'stopped in place': ['poweron', 'poweroff', 'terminate', 'reboot', 'backup'],
  starting: [],
  running: ['poweroff', 'terminate', 'reboot', 'stop_in_place', 'backup'],
  stopping: [],
};

function volumeJson(v: EmuVolume, server: EmuServer | undefined): Record<string, unknown> {
  // Inside a server, a Block Storage volume is only a reference (recorded shape).
  if (v.volumeType === 'sbs_volume') return { boot: false, volume_type: 'sbs_volume', id: v.id, state: 'available', zone: v.zone };
  return {
    id: v.id,
    name: v.name,
    size: v.size,
    volume_type: v.volumeType,
    state: 'available',
    boot: false,
    organization: ORGANIZATION,
    project: v.project,
    zone: v.zone,
    creation_date: v.createdAt,
    modification_date: v.createdAt,
    server: server ? { id: server.id, name: server.name } : null,
    export_uri: null,
  };
}

export function serverJson(s: EmuServer, state: ScalewayState): Record<string, unknown> {
  const attached = [...state.ips.values()].filter((ip) => ip.serverId === s.id);
  const volumes: Record<string, unknown> = {};
  s.volumeIds.forEach((id, i) => {
    const v = state.volumes.get(id);
    if (v) volumes[String(i)] = volumeJson(v, s);
  });
  return {
    id: s.id,
    name: s.name,
    organization: ORGANIZATION,
    project: s.project,
    allowed_actions: ALLOWED_ACTIONS[s.state],
    tags: s.tags,
    commercial_type: s.commercialType,
    creation_date: s.createdAt,
    modification_date: s.modifiedAt,
    dynamic_ip_required: false,
    routed_ip_enabled: true,
    enable_ipv6: false,
    hostname: s.name,
    image: imageOfServer(s, state),
    protected: false,
    private_ip: null,
    public_ip: attached[0] ? serverIpJson(attached[0], state) : null,
    public_ips: attached.map((ip) => serverIpJson(ip, state)),
    mac_address: s.macAddress,
    state: s.state,
    state_detail: s.stateDetail,
    location: null,
    ipv6: null,
    boot_type: 'local',
    volumes,
    security_group: s.securityGroupId
      ? { id: s.securityGroupId, name: s.securityGroupId }
      : { id: '22222222-2222-4222-8222-222222222222', name: 'Default security group' },
    maintenances: [],
    arch: 'x86_64',
    placement_group: null,
    private_nics: [],
    zone: s.zone,
    filesystems: [],
    end_of_service: false,
  };
}

/** A stock image by its label, or the custom image (recorded shape) the server was created from. */
function imageOfServer(s: EmuServer, state: ScalewayState): Record<string, unknown> {
  const custom = state.images.images.get(s.image);
  return custom ? imageJson(custom) : { id: s.image, name: s.image, arch: 'x86_64', public: true, state: 'available', zone: s.zone };
}

/** Instance v1 image (recorded: a custom image's root volume is its `sbs_snapshot`, size 0). */
export function imageJson(i: EmuImage): Record<string, unknown> {
  return {
    id: i.id,
    name: i.name,
    organization: i.project,
    project: i.project,
    root_volume: { volume_type: 'sbs_snapshot', id: i.rootSnapshotId, size: 0, name: '' },
    extra_volumes: {},
    public: false,
    arch: i.arch,
    creation_date: i.createdAt,
    modification_date: i.modifiedAt,
    default_bootscript: null,
    from_server: '',
    state: i.state,
    tags: i.tags,
    zone: i.zone,
  };
}

/** Block API v1 snapshot (recorded shape); an image using it is an `instance_image` link reference. */
export function snapshotJson(s: EmuSnapshot, users: EmuImage[]): Record<string, unknown> {
  return {
    id: s.id,
    name: s.name,
    parent_volume: { id: s.parentVolume.id, name: s.parentVolume.name, type: 'sbs_5k', status: 'available' },
    size: s.size,
    project_id: s.project,
    created_at: s.createdAt,
    updated_at: s.updatedAt,
    references: users.map((u) => ({
      id: u.id,
      product_resource_type: 'instance_image',
      product_resource_id: u.id,
      created_at: u.createdAt,
      type: 'link',
      status: 'attached',
    })),
    status: s.status,
    tags: s.tags,
    class: 'sbs',
    zone: s.zone,
    public: false,
  };
}

/** Block API v1 volume (recorded shape); `references` names the server while attached. */
export function blockVolumeJson(v: EmuVolume): Record<string, unknown> {
  return {
    id: v.id,
    name: v.name,
    type: 'sbs_5k',
    size: v.size,
    project_id: v.project,
    created_at: v.createdAt,
    updated_at: v.updatedAt,
    references: v.serverId
      ? [
          {
            id: v.id,
            product_resource_type: 'instance_server',
            product_resource_id: v.serverId,
            created_at: v.createdAt,
            type: 'exclusive',
            status: 'attached',
          },
        ]
      : [],
    parent_snapshot_id: v.parentSnapshotId ?? null,
    status: v.serverId ? 'in_use' : 'available',
    tags: v.tags,
    specs: { perf_iops: 5000, class: 'sbs' },
    last_detached_at: null,
    zone: v.zone,
  };
}

/**
 * An attached routed IP's IPAM resource is its server (recorded:
 * `{type: instance_server, id: <server id>}`), not the flexible IP.
 */
export function ipamResource(entry: EmuIpamIp, state: ScalewayState): { type: string; id: string } {
  const ip = state.ips.get(entry.id);
  if (ip?.serverId) return { type: 'instance_server', id: ip.serverId };
  return { type: 'instance_ip', id: entry.id };
}

export function ipamJson(entry: EmuIpamIp, state: ScalewayState): Record<string, unknown> {
  return {
    id: entry.id,
    address: entry.address,
    project_id: entry.projectId,
    is_ipv6: entry.isIpv6,
    created_at: entry.createdAt,
    updated_at: entry.updatedAt,
    source: { zonal: entry.zone },
    resource: { ...ipamResource(entry, state), mac_address: null, name: null },
    tags: entry.tags,
    reverses: entry.reverses.map((r) => ({ hostname: r.hostname, address: r.address })),
    region: entry.region,
    zone: entry.zone,
  };
}
