/**
 * A fleet as rows, not hosts: workspaces, servers in `ready`, their addresses and the DNSBL verdicts
 * of their last blacklist check, the DNS records publish_dns would have written
 * (provisioning/dns-records.ts `desiredRecords`), an active DKIM key
 * its "ready" notice, and the periodic schedules of a fleet in its steady state (each server's health run, blacklist
 * check, mailbox usage collection and drift check at its own point of the interval, as the sweeps leave them), all in bulk
 * SQL. No owner memberships: a steady fleet mails nobody, and the first run of a row-only server
 * would otherwise mail its owner about every check it cannot pass.
 */
import { randomUUID } from 'node:crypto';
import type postgres from 'postgres';
import { desiredRecords } from '../../provisioning/dns-records.ts';

export interface FleetSeed {
  serverIds: string[];
  /** Seconds the inserts took. */
  seconds: number;
}

export interface SeedOptions {
  servers: number;
  /** The simulated hour's start: schedules are spread over the interval from here. */
  start: Date;
  intervals: { healthMinutes: number; monitorMinutes: number; driftMinutes: number; usageMinutes: number };
  /** Servers per workspace. */
  perWorkspace?: number;
  /** The DNSBL zones the product asks: each address has its last verdicts from each, as the monitor left them. */
  dnsblZones: readonly string[];
}

/** An RSA-2048 public key's size, base64 (the health run reads it; nothing verifies it here). */
const DKIM_PUBLIC = Buffer.alloc(294, 7).toString('base64');
const SSH_FINGERPRINT = `SHA256:${Buffer.alloc(32, 9).toString('base64').replace(/=+$/, '')}`;

/** 100.64.0.0/10 (shared address space) and 2001:db8::/32 (documentation): never anyone's mail server. */
const ipv4Of = (i: number) => `100.${64 + ((i >> 16) & 63)}.${(i >> 8) & 255}.${i & 255}`;
const ipv6Of = (i: number) => `2001:db8:${(i >> 16).toString(16)}:${(i & 0xffff).toString(16)}::1`;

async function insertChunks(sql: postgres.Sql, table: string, rows: Record<string, unknown>[]): Promise<void> {
  if (rows.length === 0) return;
  const columns = Object.keys(rows[0]!);
  // postgres.js sends one parameter per value; PostgreSQL takes at most 65,535 per statement.
  const size = Math.floor(60_000 / columns.length);
  for (let i = 0; i < rows.length; i += size) {
    await sql`insert into ${sql(table)} ${sql(rows.slice(i, i + size) as never, columns as never)}`;
  }
}

export async function seedFleet(sql: postgres.Sql, opts: SeedOptions): Promise<FleetSeed> {
  const t = performance.now();
  const perWorkspace = opts.perWorkspace ?? 5;
  const workspaces: Record<string, unknown>[] = [];
  const servers: Record<string, unknown>[] = [];
  const ips: Record<string, unknown>[] = [];
  const records: Record<string, unknown>[] = [];
  const dkim: Record<string, unknown>[] = [];
  const schedules: Record<string, unknown>[] = [];
  const stacks: Record<string, unknown>[] = [];
  const notices: Record<string, unknown>[] = [];
  // Each kind at its own point of its interval (a prime per kind, coprime with the intervals' seconds):
  // with one multiplier for all, a server's drift check fell in the same minute as one of its health runs
  // (x mod 3600 mod 900 = x mod 900), and the health run the drift check asks for was always merged
  // into the scheduled one, which a running fleet does only now and then.
  const spread = (minutes: number, i: number, prime: number) => new Date(opts.start.getTime() + ((i * prime) % (minutes * 60)) * 1000);
  let workspaceId = '';
  for (let i = 0; i < opts.servers; i++) {
    if (i % perWorkspace === 0) {
      workspaceId = randomUUID();
      workspaces.push({ id: workspaceId, name: `Fleet ${i / perWorkspace}` });
    }
    const id = randomUUID();
    const domain = `f${String(i).padStart(5, '0')}.fleet-bench.example`;
    const hostname = `mail.${domain}`;
    const ipv4 = ipv4Of(i);
    const ipv6 = ipv6Of(i);
    servers.push({
      id,
      workspace_id: workspaceId,
      plan_id: 'starter',
      zone: 'fr-par-1',
      domain,
      hostname,
      status: 'ready',
      provider_server_id: randomUUID(),
      ipv4,
      ipv6,
      ssh_host_key_fingerprint: SSH_FINGERPRINT,
      deploy_private_key_secret_id: randomUUID(),
      dns_zone_id: randomUUID().replace(/-/g, ''),
      name_servers: ['ada.ns.cloudflare-sandbox.test', 'bob.ns.cloudflare-sandbox.test'],
      dnssec_status: 'active',
    });
    ips.push({ server_id: id, family: 'ipv4', provider_ip_id: randomUUID(), address: ipv4, state: 'active' });
    ips.push({ server_id: id, family: 'ipv6', provider_ip_id: randomUUID(), address: ipv6, prefix: `${ipv6.replace(/::1$/, '::')}/64`, state: 'active' });
    const selector = 'mp20261201';
    for (const r of desiredRecords({
      domain,
      hostname,
      ipv4,
      ipv6,
      dkim: { selector, publicKeyBase64: DKIM_PUBLIC },
      sshfpSha256Hex: '00'.repeat(32),
      dmarcRua: null,
      tlsRptRua: null,
    })) {
      records.push({
        server_id: id,
        purpose: r.purpose,
        type: r.type,
        name: r.name,
        content: r.content,
        priority: r.priority ?? null,
        provider_record_id: randomUUID().replace(/-/g, ''),
      });
    }
    dkim.push({
      server_id: id,
      domain,
      selector,
      public_key: DKIM_PUBLIC,
      private_key_secret_id: randomUUID(),
      state: 'active',
      activated_at: opts.start,
      // Rotations spread over the next 90 days, none within the hour: a rotation is a provisioning run whose
      // Cloudflare calls a row-only server's zone cannot answer (the concurrent-provisions section measures runs).
      next_transition_at: new Date(opts.start.getTime() + (1440 + ((i * 104729) % (89 * 24 * 60))) * 60_000),
    });
    schedules.push({ server_id: id, kind: 'health', next_at: spread(opts.intervals.healthMinutes, i, 7919) });
    schedules.push({ server_id: id, kind: 'blacklists', next_at: spread(opts.intervals.monitorMinutes, i, 7907) });
    schedules.push({ server_id: id, kind: 'usage', next_at: spread(opts.intervals.usageMinutes, i, 7901) });
    stacks.push({ server_id: id, next_drift_check_at: spread(opts.intervals.driftMinutes, i, 7883) });
    // Told it was ready long ago (the health sweep mails the owners of a ready server that was not).
    notices.push({ server_id: id, kind: 'ready' });
  }
  await insertChunks(sql, 'workspaces', workspaces);
  await insertChunks(sql, 'servers', servers);
  await insertChunks(sql, 'server_ips', ips);
  await insertChunks(sql, 'dns_records', records);
  await insertChunks(sql, 'dkim_keys', dkim);
  await insertChunks(sql, 'server_schedules', schedules);
  await insertChunks(sql, 'server_stacks', stacks);
  await insertChunks(sql, 'server_notices', notices);
  // The monitor's verdicts from each server's last blacklist check, an interval before its next one:
  // the health run reads these instead of asking the lists again (src/health/blacklist-check.ts).
  await sql`
    insert into blacklist_checks (server_id, address, zone, status, checked_at)
    select i.server_id, i.address, z, 'clean', sc.next_at - ${`${opts.intervals.monitorMinutes} minutes`}::interval
    from server_ips i join server_schedules sc on sc.server_id = i.server_id and sc.kind = 'blacklists'
    cross join unnest(${sql.array([...opts.dnsblZones])}::text[]) z`;
  await sql`analyze`;
  return { serverIds: servers.map((s) => s.id as string), seconds: (performance.now() - t) / 1000 };
}
