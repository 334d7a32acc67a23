/**
 * Security groups of the Scaleway emulator (Instance v1, recorded shapes).
 *
 * Outbound SMTP (25, 465, 587) is blocked per security group: a group's
 * `enable_default_security: true` is the block. On a new account every group
 * is blocked and the field is read-only (a client asking for false gets true).
 * Once Scaleway has verified the account's identity and SMTP is enabled on the
 * account (`smtpBlocked` false here; `mailplane sandbox smtp-open`), each group
 * is enabled one by one: "Enable SMTP" on the group in the console, or
 * `PATCH …/security_groups/{id}` with `enable_default_security: false` (what
 * terraform records on an enabled account). A group created while the account
 * was blocked stays blocked until someone asks for it again.
 */
import { randomUUID } from 'node:crypto';
import type { Hono } from 'hono';
import { ApiError } from './model.ts';
import type { ScalewayState } from './state.ts';
import { hasAllTags, page } from './wire.ts';
import { zoneOf, jsonBody as body } from './route-input.ts';

export interface SecurityGroupRule {
  id: string;
  protocol: 'TCP' | 'UDP' | 'ICMP' | 'ANY';
  direction: 'inbound' | 'outbound';
  action: 'accept' | 'drop';
  ip_range: string;
  dest_port_from: number | null;
  dest_port_to: number | null;
  position: number;
  editable: boolean;
  zone: string;
}

export interface EmuSecurityGroup {
  id: string;
  zone: string;
  name: string;
  project: string;
  tags: string[];
  stateful: boolean;
  inboundDefaultPolicy: 'accept' | 'drop';
  outboundDefaultPolicy: 'accept' | 'drop';
  /** What was asked at creation (kept for snapshots written before `enableDefaultSecurity`). */
  askedDefaultSecurity: boolean;
  /** The group's own SMTP block as Scaleway stores it; set at creation or by PATCH, never by the account. */
  enableDefaultSecurity?: boolean;
  rules: SecurityGroupRule[];
  createdAt: string;
  modifiedAt: string;
}

export class SecurityGroups {
  readonly groups = new Map<string, EmuSecurityGroup>();
  /** Account-wide: SMTP not yet enabled on the account (Scaleway's default for a new account). */
  smtpBlocked = false;
  /** Called when a group's block changes (real-host mode enforces blocks in the hosts' network). */
  onChange: () => void = () => {};

  changed(): void {
    this.onChange();
  }

  enableDefaultSecurity(group: EmuSecurityGroup): boolean {
    return this.smtpBlocked || (group.enableDefaultSecurity ?? group.askedDefaultSecurity);
  }

  /** What the API stores when a client asks for `enable_default_security`: false only once the account may send. */
  request(group: EmuSecurityGroup, asked: boolean): void {
    group.enableDefaultSecurity = asked || this.smtpBlocked;
  }

  /** Whether a server in this group can open outbound connections to port 25. */
  outboundSmtpOpen(groupId: string | null): boolean {
    const group = groupId ? this.groups.get(groupId) : undefined;
    if (this.smtpBlocked) return false;
    if (!group) return true;
    if (this.enableDefaultSecurity(group)) return false;
    const rule = group.rules.find(
      (r) =>
        r.direction === 'outbound' &&
        (r.protocol === 'TCP' || r.protocol === 'ANY') &&
        (r.dest_port_from === null || (r.dest_port_from <= 25 && 25 <= (r.dest_port_to ?? r.dest_port_from))),
    );
    return rule ? rule.action === 'accept' : group.outboundDefaultPolicy === 'accept';
  }

  get(zone: string, id: string): EmuSecurityGroup {
    const g = this.groups.get(id);
    if (!g || g.zone !== zone) throw ApiError.notFound('instance_security_group', id);
    return g;
  }
}

export function securityGroupJson(g: EmuSecurityGroup, groups: SecurityGroups, state: ScalewayState): Record<string, unknown> {
  const servers = [...state.servers.values()].filter((s) => s.securityGroupId === g.id).map((s) => ({ id: s.id, name: s.name }));
  return {
    id: g.id,
    creation_date: g.createdAt,
    modification_date: g.modifiedAt,
    name: g.name,
    description: null,
    organization: g.project,
    project: g.project,
    servers,
    stateful: g.stateful,
    inbound_default_policy: g.inboundDefaultPolicy,
    outbound_default_policy: g.outboundDefaultPolicy,
    organization_default: false,
    project_default: false,
    enable_default_security: groups.enableDefaultSecurity(g),
    state: 'available',
    tags: g.tags,
    zone: g.zone,
  };
}

function parseRules(raw: unknown, zone: string): SecurityGroupRule[] {
  if (!Array.isArray(raw)) throw ApiError.invalidArgument('rules', 'must be a list');
  return raw.map((r, i) => {
    const rule = (r ?? {}) as Record<string, unknown>;
    const protocol = String(rule['protocol'] ?? 'TCP').toUpperCase();
    const direction = String(rule['direction'] ?? 'inbound');
    const action = String(rule['action'] ?? 'accept');
    if (!['TCP', 'UDP', 'ICMP', 'ANY'].includes(protocol)) throw ApiError.invalidArgument('rules.protocol', 'TCP, UDP, ICMP or ANY');
    if (direction !== 'inbound' && direction !== 'outbound') throw ApiError.invalidArgument('rules.direction', 'inbound or outbound');
    if (action !== 'accept' && action !== 'drop') throw ApiError.invalidArgument('rules.action', 'accept or drop');
    const port = (k: string) => (typeof rule[k] === 'number' ? (rule[k] as number) : null);
    return {
      id: randomUUID(),
      protocol: protocol as SecurityGroupRule['protocol'],
      direction,
      action,
      ip_range: typeof rule['ip_range'] === 'string' ? rule['ip_range'] : '0.0.0.0/0',
      dest_port_from: port('dest_port_from'),
      dest_port_to: port('dest_port_to'),
      position: typeof rule['position'] === 'number' ? rule['position'] : i + 1,
      editable: true,
      zone,
    };
  });
}

export function registerSecurityGroupRoutes(app: Hono, state: ScalewayState, groups: SecurityGroups): void {
  const base = '/instance/v1/zones/:zone/security_groups';

  app.post(base, async (c) => {
    const zone = zoneOf(c);
    const b = await body(c);
    if (typeof b['name'] !== 'string' || typeof b['project'] !== 'string') throw ApiError.invalidArgument('name', 'name and project are required');
    const now = new Date().toISOString();
    const g: EmuSecurityGroup = {
      id: randomUUID(),
      zone,
      name: b['name'],
      project: b['project'],
      tags: Array.isArray(b['tags']) ? (b['tags'] as unknown[]).map(String) : [],
      stateful: b['stateful'] !== false,
      inboundDefaultPolicy: b['inbound_default_policy'] === 'drop' ? 'drop' : 'accept',
      outboundDefaultPolicy: b['outbound_default_policy'] === 'drop' ? 'drop' : 'accept',
      askedDefaultSecurity: b['enable_default_security'] !== false,
      rules: [],
      createdAt: now,
      modifiedAt: now,
    };
    groups.request(g, g.askedDefaultSecurity);
    groups.groups.set(g.id, g);
    return c.json({ security_group: securityGroupJson(g, groups, state) }, 201);
  });

  app.get(base, (c) => {
    const zone = zoneOf(c);
    const project = c.req.query('project');
    const list = [...groups.groups.values()].filter((g) => g.zone === zone && hasAllTags(g.tags, c.req.query('tags')) && (!project || g.project === project));
    const { items, total } = page(list, c.req.query('page'), c.req.query('per_page'), 50);
    c.header('X-Total-Count', String(total));
    return c.json({ security_groups: items.map((g) => securityGroupJson(g, groups, state)) });
  });

  app.get(`${base}/:id`, (c) => c.json({ security_group: securityGroupJson(groups.get(zoneOf(c), c.req.param('id')), groups, state) }));

  // UpdateSecurityGroup (terraform sends it after every create and on each change).
  app.patch(`${base}/:id`, async (c) => {
    const g = groups.get(zoneOf(c), c.req.param('id'));
    const b = await body(c);
    if (typeof b['name'] === 'string') g.name = b['name'];
    if (Array.isArray(b['tags'])) g.tags = (b['tags'] as unknown[]).map(String);
    if (typeof b['stateful'] === 'boolean') g.stateful = b['stateful'];
    for (const [key, field] of [
      ['inbound_default_policy', 'inboundDefaultPolicy'],
      ['outbound_default_policy', 'outboundDefaultPolicy'],
    ] as const) {
      const v = b[key];
      if (v === undefined) continue;
      if (v !== 'accept' && v !== 'drop') throw ApiError.invalidArgument(key, 'accept or drop');
      g[field] = v;
    }
    if (typeof b['enable_default_security'] === 'boolean') groups.request(g, b['enable_default_security']);
    g.modifiedAt = new Date().toISOString();
    groups.changed();
    return c.json({ security_group: securityGroupJson(g, groups, state) });
  });

  app.delete(`${base}/:id`, (c) => {
    const g = groups.get(zoneOf(c), c.req.param('id'));
    if ([...state.servers.values()].some((s) => s.securityGroupId === g.id)) throw ApiError.invalid('security group is in use by a server');
    groups.groups.delete(g.id);
    return c.body(null, 204);
  });

  app.put(`${base}/:id/rules`, async (c) => {
    const zone = zoneOf(c);
    const g = groups.get(zone, c.req.param('id'));
    g.rules = parseRules((await body(c))['rules'] ?? [], zone);
    g.modifiedAt = new Date().toISOString();
    return c.json({ rules: g.rules });
  });

  app.get(`${base}/:id/rules`, (c) => c.json({ rules: groups.get(zoneOf(c), c.req.param('id')).rules, total_count: 0 }));
}
