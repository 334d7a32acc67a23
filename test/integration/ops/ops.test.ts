/**
 * Ops on the sandbox: blacklist monitoring with alerts delivered to a signed
 * webhook, IP rotation of a live server, the alerts API, reconciliation and
 * metrics — one ready server provisioned through the real workflow.
 */
import { createHmac } from 'node:crypto';
import { and, eq, isNull } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiDeps } from '../../../src/app-context.ts';
import { createApp } from '../../../src/api/app.ts';
import { SYSTEM_ACTOR } from '../../../src/audit.ts';
import { alertDeliveries, alerts, auditLog, blacklistChecks, provisioningRuns, serverIps, servers } from '../../../src/db/schema/index.ts';
import { opsDeps } from '../../../src/app-context.ts';
import type { OpsDeps } from '../../../src/ops/deps.ts';
import { sweepOutbox } from '../../../src/ops/alert-delivery.ts';
import { checkServer, sweepMonitor } from '../../../src/ops/monitor.ts';
import { reconcile } from '../../../src/ops/reconcile.ts';
import { DEFAULT_DNSBL_ZONES } from '../../../src/providers/lookup/dnsbl-zones.ts';
import { runMailplane } from '../../support/cli.ts';
import { startHarness, type Harness } from '../../support/provisioning.ts';
import { startWebhookReceiver, type WebhookReceiver } from './webhook-receiver.ts';
import { until as waitUntil } from '../../support/until.ts';

const SECRET = 'ops-test-webhook-secret-0123456789';
const ZONE = DEFAULT_DNSBL_ZONES[0]!;

let h: Harness;
let receiver: WebhookReceiver;
let deps: OpsDeps;
let server: typeof servers.$inferSelect;
let opsToken: string;

const until = <T>(what: string, probe: () => Promise<T | null | undefined | false>, timeoutMs = 30_000) => waitUntil(what, probe, timeoutMs, 50);

const deliveriesOf = (alertId: string) => h.database.db.select().from(alertDeliveries).where(eq(alertDeliveries.alertId, alertId));
const reload = async () => (await h.database.db.select().from(servers).where(eq(servers.id, server.id)))[0]!;
const recordsOf = (zoneName: string) => {
  const zone = h.sandbox.cloudflare!.zones().find((z: { name: string }) => z.name === zoneName)!;
  return h.sandbox.cloudflare!.records(zone.id) as Array<{ type: string; name: string; content: string }>;
};

beforeAll(async () => {
  receiver = await startWebhookReceiver();
  h = await startHarness({
    env: {
      ALERT_WEBHOOK_URL: receiver.url,
      ALERT_WEBHOOK_SECRET: SECRET,
      ALERT_RETRY_BASE_MS: '50',
      ALERT_RETRY_MAX_MS: '200',
      // The scheduled sweep would check this server once in the interval; a day makes it (nearly) never
      // coincide with a test, which calls checkServer itself to know exactly when a check happens.
      MONITOR_INTERVAL_MINUTES: '1440',
    },
  });
  deps = opsDeps(h.ctx);
  const { token, workspaceId } = await h.customer('owner@watched.example');
  const { serverId } = await h.subscribe(token, workspaceId, 'watched.example');
  server = await h.waitForServer(serverId, ['ready', 'failed']);
  expect(server.status).toBe('ready');
  opsToken = await h.staff('ops@mailplane.test', 'ops');
}, 120_000);

afterAll(async () => {
  await h?.close();
  await receiver?.close();
});

describe('blacklist monitoring', () => {
  let alertId: string;

  it('opens one alert for a new listing and delivers one webhook with a valid signature', async () => {
    h.sandbox.listings.list(server.ipv4!, { zones: [ZONE], codes: ['127.0.0.4'] });
    const summary = await checkServer(deps, server.id);
    expect(summary.checked.sort()).toEqual([server.ipv4, server.ipv6].sort());
    expect(summary.newListings).toEqual([{ address: server.ipv4, zone: ZONE, alertId: expect.any(String) }]);
    alertId = summary.newListings[0]!.alertId;

    const open = await h.database.db
      .select()
      .from(alerts)
      .where(and(eq(alerts.serverId, server.id), isNull(alerts.resolvedAt)));
    expect(open.map((a) => [a.kind, (a.details['zones'] as Array<{ zone: string }>).map((z) => z.zone), a.details['address']])).toEqual([
      ['ip_listed', [ZONE], server.ipv4],
    ]);
    const checks = await h.database.db.select().from(blacklistChecks).where(eq(blacklistChecks.address, server.ipv4!));
    expect(checks.filter((c) => c.status === 'listed').map((c) => [c.zone, c.codes])).toEqual([[ZONE, ['127.0.0.4']]]);
    expect(new Set(checks.map((c) => c.zone))).toEqual(new Set(DEFAULT_DNSBL_ZONES));

    await receiver.waitFor((r) => r.length >= 1);
    expect(receiver.received).toHaveLength(1);
    const hit = receiver.received[0]!;
    const [, t, v1] = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(String(hit.headers['x-mailplane-signature']))!;
    expect(v1).toBe(createHmac('sha256', SECRET).update(`${t}.${hit.body}`).digest('hex'));
    expect(Math.abs(Number(t) - Date.now() / 1000)).toBeLessThan(300);
    const body = JSON.parse(hit.body);
    expect(body).toMatchObject({
      event: 'alert.opened',
      alert: { id: alertId, kind: 'ip_listed', serverId: server.id, details: { address: server.ipv4, zones: [{ zone: ZONE, codes: ['127.0.0.4'] }] } },
    });
    expect(hit.headers['x-mailplane-delivery']).toBe(body.deliveryId);
    await until('delivery recorded', async () => (await deliveriesOf(alertId)).every((d) => d.status === 'delivered'));
  });

  it('opens no second alert and sends nothing more when the same listing is seen again', async () => {
    const summary = await checkServer(deps, server.id);
    expect(summary.newListings).toEqual([]);
    const forKey = await h.database.db
      .select()
      .from(alerts)
      .where(and(eq(alerts.kind, 'ip_listed'), eq(alerts.serverId, server.id)));
    expect(forKey).toHaveLength(1);
    expect(await deliveriesOf(alertId)).toHaveLength(1);
  });

  it('resolves the alert when the address is delisted, and notifies the resolution', async () => {
    h.sandbox.listings.delist(server.ipv4!);
    const summary = await checkServer(deps, server.id);
    expect(summary.delisted).toEqual([{ address: server.ipv4, zone: ZONE }]);
    const [row] = await h.database.db.select().from(alerts).where(eq(alerts.id, alertId));
    expect(row!.resolvedAt).not.toBeNull();
    await receiver.waitFor((r) => r.some((x) => JSON.parse(x.body).event === 'alert.resolved'));
    expect(receiver.received.map((x) => JSON.parse(x.body).event)).toEqual(['alert.opened', 'alert.resolved']);
  });

  it('delivers exactly once to a receiver that fails twice before succeeding', async () => {
    receiver.failNext(2);
    const before = receiver.received.length;
    h.sandbox.listings.list(server.ipv6!, { zones: [ZONE] });
    const summary = await checkServer(deps, server.id);
    expect(summary.newListings.map((l) => l.address)).toEqual([server.ipv6]);
    const id = summary.newListings[0]!.alertId;
    const [delivery] = await until('delivery to succeed', async () => {
      const rows = await deliveriesOf(id);
      return rows[0]?.status === 'delivered' ? rows : null;
    });
    expect(delivery!.attempts).toBe(3);
    const tries = receiver.received.slice(before).filter((x) => x.headers['x-mailplane-delivery'] === delivery!.id);
    expect(tries.map((x) => x.answered)).toEqual([500, 500, 204]);
    // Every attempt carries the same body, signed afresh.
    expect(new Set(tries.map((x) => x.body)).size).toBe(1);
    h.sandbox.listings.delist(server.ipv6!);
    await checkServer(deps, server.id);
  });

  it('opens one alert per listed IP naming its zones, follows the zones as they change, and offers to rotate the IP', async () => {
    const [a, b, c] = DEFAULT_DNSBL_ZONES as [string, string, string];
    h.sandbox.listings.list(server.ipv4!, { zones: [a, b] });
    const first = await checkServer(deps, server.id);
    expect(first.newListings.map((l) => l.zone).sort()).toEqual([a, b].sort());
    const id = first.newListings[0]!.alertId;
    expect(new Set(first.newListings.map((l) => l.alertId))).toEqual(new Set([id]));
    const openFor = async () =>
      h.database.db
        .select()
        .from(alerts)
        .where(and(eq(alerts.kind, 'ip_listed'), eq(alerts.serverId, server.id), isNull(alerts.resolvedAt)));
    const zonesOf = (row: typeof alerts.$inferSelect) => (row.details['zones'] as Array<{ zone: string }>).map((z) => z.zone);
    expect((await openFor()).map(zonesOf)).toEqual([[a, b].sort()]);

    // A third zone lists it: the same alert, its zones and message updated; nothing delivered again.
    h.sandbox.listings.list(server.ipv4!, { zones: [a, b, c] });
    expect((await checkServer(deps, server.id)).newListings.map((l) => [l.zone, l.alertId])).toEqual([[c, id]]);
    let [row] = await openFor();
    expect([row!.id, zonesOf(row!)]).toEqual([id, [a, b, c].sort()]);
    expect(row!.message).toContain(`${server.ipv4} is listed on 3 DNSBL zones`);
    await until('the one delivery', async () => (await deliveriesOf(id)).every((d) => d.status === 'delivered'));
    expect(await deliveriesOf(id)).toHaveLength(1);

    // The ops page offers the remedy on the alert itself.
    const cookie = { cookie: `mailplane_session=${opsToken}` };
    const page = await (await fetch(`${h.baseUrl}/ops/alerts?kind=ip_listed`, { headers: cookie })).text();
    expect(page).toContain(`action="/ops/servers/${server.id}/ips/${server.ipv4}/rotate"`);
    expect(page).toContain(`Rotate this IP (${server.ipv4})`);

    // Two zones delist it: still one alert, with the zone left; the last one delists it: resolved.
    h.sandbox.listings.list(server.ipv4!, { zones: [b] });
    expect((await checkServer(deps, server.id)).delisted.map((d) => d.zone).sort()).toEqual([a, c].sort());
    [row] = await openFor();
    expect([row!.id, zonesOf(row!)]).toEqual([id, [b]]);
    h.sandbox.listings.delist(server.ipv4!);
    await checkServer(deps, server.id);
    expect(await openFor()).toEqual([]);
  });

  it("folds the per-zone alerts of before into the IP's one", async () => {
    const [a, b] = DEFAULT_DNSBL_ZONES as [string, string];
    for (const zone of [a, b]) {
      await deps.alerts.open(h.database.db, {
        kind: 'ip_listed',
        severity: 'critical',
        serverId: server.id,
        dedupeKey: `ip_listed:${server.id}:${server.ipv4}:${zone}`,
        message: `old ${zone}`,
        details: { address: server.ipv4, zone, codes: ['127.0.0.2'], meaning: [] },
      });
    }
    h.sandbox.listings.list(server.ipv4!, { zones: [a] });
    const summary = await checkServer(deps, server.id);
    // a was known (no new listing), b is clean now.
    expect([summary.newListings, summary.delisted]).toEqual([[], [{ address: server.ipv4, zone: b }]]);
    const open = await h.database.db
      .select()
      .from(alerts)
      .where(and(eq(alerts.kind, 'ip_listed'), eq(alerts.serverId, server.id), isNull(alerts.resolvedAt)));
    expect(open.map((r) => [r.dedupeKey, (r.details['zones'] as Array<{ zone: string }>).map((z) => z.zone)])).toEqual([
      [`ip_listed:${server.id}:${server.ipv4}`, [a]],
    ]);
    h.sandbox.listings.delist(server.ipv4!);
    await checkServer(deps, server.id);
  });

  it('opens one zone alert after repeated unknown answers from a zone, and resolves it on an answer', async () => {
    const zone = 'refusing.dnsbl.test';
    let refusing = true;
    const stub: OpsDeps = {
      ...deps,
      settings: { ...deps.settings, zoneErrorThreshold: 3 },
      dnsbl: {
        zones: [zone],
        check: async () => [refusing ? { zone, status: 'unknown', error: 'REFUSED' } : { zone, status: 'clean' }],
      },
    };
    await checkServer(stub, server.id); // 2 unknowns (one per IP): below the threshold
    expect(await h.database.db.select().from(alerts).where(eq(alerts.kind, 'dnsbl_zone_failing'))).toHaveLength(0);
    await checkServer(stub, server.id);
    await checkServer(stub, server.id);
    const opened = await h.database.db.select().from(alerts).where(eq(alerts.kind, 'dnsbl_zone_failing'));
    expect(opened.map((a) => [a.details['zone'], a.resolvedAt])).toEqual([[zone, null]]);
    const errors = await h.database.db.select().from(blacklistChecks).where(eq(blacklistChecks.zone, zone));
    expect(errors.map((e) => [e.status, e.error])).toEqual(Array(6).fill(['unknown', 'REFUSED']));
    refusing = false;
    await checkServer(stub, server.id);
    const [after] = await h.database.db.select().from(alerts).where(eq(alerts.id, opened[0]!.id));
    expect(after!.resolvedAt).not.toBeNull();
  });

  it('has the per-minute sweep queue a check of every server due this minute, which a worker runs', async () => {
    const rows = async () => (await h.database.db.select().from(blacklistChecks).where(eq(blacklistChecks.serverId, server.id))).length;
    const before = await rows();
    // With a one-minute interval: the first sweep gives the server its point within the minute, and
    // the sweep a minute later finds it due, once.
    const at = (ms: number) => ({ ...deps, clock: { ...deps.clock, now: () => ms }, settings: { ...deps.settings, monitorIntervalMinutes: 1 } });
    const now = deps.clock.now();
    expect(await sweepMonitor(at(now))).toEqual([]);
    const due = await sweepMonitor(at(now + 60_000));
    expect(due).toEqual([server.id]);
    expect(await sweepMonitor(at(now + 60_000))).toEqual([]);
    await until('the queued check to record both IPs', async () => (await rows()) >= before + 2 * DEFAULT_DNSBL_ZONES.length);
  });
});

describe('ops routes are for ops staff', () => {
  it('answers 403 problem+json to support staff and customers', async () => {
    const support = await h.staff('support@mailplane.test', 'support');
    const customer = (await h.customer('someone@example.org')).token;
    for (const token of [support, customer]) {
      for (const [method, path] of [
        ['GET', '/v1/admin/alerts'],
        ['POST', '/v1/admin/alerts/00000000-0000-4000-8000-000000000000/acknowledge'],
        ['POST', '/v1/admin/alerts/00000000-0000-4000-8000-000000000000/resolve'],
        ['POST', `/v1/admin/servers/${server.id}/ips/${server.ipv4}/rotate`],
      ] as const) {
        const res = await h.call(method, path, { token });
        expect(res.status, `${method} ${path}`).toBe(403);
        expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      }
    }
    expect(await h.database.db.select().from(provisioningRuns).where(eq(provisioningRuns.kind, 'rotate_ip'))).toHaveLength(0);
  });
});

describe('IP rotation of a live server', () => {
  it('moves DNS and PTR to a new clean IP and releases the old one', async () => {
    const old = server.ipv4!;
    h.sandbox.listings.list(old, { zones: [ZONE] });
    await checkServer(deps, server.id);

    const res = await h.call('POST', `/v1/admin/servers/${server.id}/ips/${old}/rotate`, { token: opsToken });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ runId: expect.any(String), address: old });
    const run = await until(
      'rotation run to finish',
      async () => {
        const [r] = await h.database.db.select().from(provisioningRuns).where(eq(provisioningRuns.id, res.body.runId));
        return r && r.status !== 'running' ? r : null;
      },
      60_000,
    );
    expect([run.status, run.error]).toEqual(['succeeded', null]);

    const now = await reload();
    expect(now.status).toBe('ready');
    expect(now.ipv4).not.toBe(old);
    expect(now.ipv6).toBe(server.ipv6);
    const records = recordsOf('watched.example');
    expect(records.filter((r) => r.type === 'A' && r.name === now.hostname).map((r) => r.content)).toEqual([now.ipv4]);
    const spf = records.filter((r) => r.type === 'TXT' && r.name === 'watched.example' && r.content.includes('v=spf1'));
    expect(spf).toHaveLength(1);
    expect(spf[0]!.content).toContain(`ip4:${now.ipv4} `);
    expect(spf[0]!.content).not.toContain(old);
    // The hostname's SPF (the server's own mail: bounces) follows the addresses too.
    const hostSpf = records.filter((r) => r.type === 'TXT' && r.name === now.hostname && r.content.includes('v=spf1'));
    expect(hostSpf.map((r) => r.content)).toEqual([spf[0]!.content]);
    expect(h.sandbox.scaleway!.reverseOf(now.ipv4!)).toBe(now.hostname);

    const [oldRow] = await h.database.db
      .select()
      .from(serverIps)
      .where(and(eq(serverIps.serverId, server.id), eq(serverIps.address, old)));
    expect(oldRow!.state).toBe('released');
    expect(h.sandbox.scaleway!.listIps().map((ip: { address: string }) => ip.address)).not.toContain(old);
    const listing = await h.database.db
      .select()
      .from(alerts)
      .where(and(eq(alerts.kind, 'ip_listed'), isNull(alerts.resolvedAt)));
    expect(listing).toHaveLength(0);
    const audits = await h.database.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.action, 'server.rotate_ip'), eq(auditLog.target, server.id)));
    expect(audits).toHaveLength(1);
    h.sandbox.listings.delist(old);
    server = now;
  });

  it('rotates a newly listed IPv6 on its own with AUTO_ROTATE_LISTED', async () => {
    const old = server.ipv6!;
    h.sandbox.listings.list(old, { zones: [ZONE] });
    const summary = await checkServer({ ...deps, settings: { ...deps.settings, autoRotateListed: true } }, server.id);
    expect(summary.rotation).toEqual({ runId: expect.any(String), address: old });
    const run = await until(
      'automatic rotation to finish',
      async () => {
        const [r] = await h.database.db.select().from(provisioningRuns).where(eq(provisioningRuns.id, summary.rotation!.runId));
        return r && r.status !== 'running' ? r : null;
      },
      60_000,
    );
    expect([run.status, run.error]).toEqual(['succeeded', null]);
    const now = await reload();
    expect(now.ipv6).not.toBe(old);
    const records = recordsOf('watched.example');
    expect(records.filter((r) => r.type === 'AAAA' && r.name === now.hostname).map((r) => r.content)).toEqual([now.ipv6]);
    // TXT content comes back in presentation form (quoted character-strings).
    const spfs = records.filter((r) => r.type === 'TXT' && r.content.includes('v=spf1'));
    expect(spfs.map((r) => [r.name, r.content.replace(/"/g, '')]).sort()).toEqual(
      [now.hostname, 'watched.example'].sort().map((name) => [name, `v=spf1 ip4:${now.ipv4} ip6:${now.ipv6} -all`]),
    );
    expect(h.sandbox.scaleway!.reverseOf(now.ipv6!)).toBe(now.hostname);
    const audits = await h.database.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.action, 'server.rotate_ip'), eq(auditLog.actorKind, 'system')));
    expect(audits).toHaveLength(1);
    h.sandbox.listings.delist(old);
    server = now;
  });

  it('refuses an address the server no longer uses', async () => {
    const released = (
      await h.database.db
        .select()
        .from(serverIps)
        .where(and(eq(serverIps.serverId, server.id), eq(serverIps.state, 'released')))
    )[0]!;
    const res = await h.call('POST', `/v1/admin/servers/${server.id}/ips/${released.address}/rotate`, { token: opsToken });
    expect(res.status).toBe(404);
    expect(res.body.code).toBe('not_found');
  });
});

describe('alerts API', () => {
  it('lists by status, kind and server; acknowledges; resolves; and says why it cannot', async () => {
    const { id } = await h.ctx.alerts.open(h.database.db, {
      kind: 'ip_rotation_exhausted',
      severity: 'critical',
      serverId: server.id,
      dedupeKey: `test:${server.id}`,
      message: 'test alert',
    });
    // Opened outside the ops code (as provisioning does): the outbox sweep delivers it.
    await sweepOutbox(deps);
    await receiver.waitFor((r) => r.some((x) => JSON.parse(x.body).alert.id === id));
    expect(await deliveriesOf(id)).toHaveLength(1);
    const list = (q: string) => h.call('GET', `/v1/admin/alerts${q}`, { token: opsToken });
    const open = await list(`?status=open&server=${server.id}`);
    expect(open.status).toBe(200);
    expect(open.body.alerts.map((a: { id: string }) => a.id)).toEqual([id]);
    const resolved = await list('?status=resolved&kind=ip_listed');
    expect(resolved.body.alerts.length).toBeGreaterThanOrEqual(3);
    expect(resolved.body.alerts.every((a: { status: string; kind: string }) => a.status === 'resolved' && a.kind === 'ip_listed')).toBe(true);

    const ack = await h.call('POST', `/v1/admin/alerts/${id}/acknowledge`, { token: opsToken });
    expect(ack.status).toBe(200);
    expect(ack.body).toMatchObject({ id, status: 'acknowledged', acknowledgedAt: expect.any(String) });
    expect((await list(`?status=open&server=${server.id}`)).body.alerts).toEqual([]);
    expect((await list(`?status=acknowledged&server=${server.id}`)).body.alerts.map((a: { id: string }) => a.id)).toEqual([id]);

    const done = await h.call('POST', `/v1/admin/alerts/${id}/resolve`, { token: opsToken });
    expect(done.body).toMatchObject({ id, status: 'resolved', resolvedAt: expect.any(String) });
    const again = await h.call('POST', `/v1/admin/alerts/${id}/resolve`, { token: opsToken });
    expect([again.status, again.body.code]).toEqual([409, 'alert_resolved']);
    expect((await h.call('POST', '/v1/admin/alerts/00000000-0000-4000-8000-000000000000/acknowledge', { token: opsToken })).status).toBe(404);
    const bad = await list('?status=closed');
    expect([bad.status, bad.headers.get('content-type')]).toEqual([400, 'application/problem+json']);
  });
});

describe('reconciliation', () => {
  it("reports an orphan server created behind mailplane's back, and `mailplane reconcile --apply` deletes it", async () => {
    const orphan = h.sandbox.scaleway!.createOrphanServer('fr-par-2', ['mailplane']);
    const dry = await reconcile(deps, { apply: false, actor: SYSTEM_ACTOR });
    expect(dry.findings.map((f) => [f.kind, f.resource, f.providerId])).toEqual([['orphan', 'server', orphan.id]]);
    expect(dry.deleted).toEqual([]);
    expect(h.sandbox.scaleway!.listServers().map((s: { id: string }) => s.id)).toContain(orphan.id);
    const [alert] = await h.database.db
      .select()
      .from(alerts)
      .where(and(eq(alerts.kind, 'orphan_resource'), isNull(alerts.resolvedAt)));
    expect(alert!.details).toMatchObject({ resource: 'server', providerId: orphan.id });

    const cli = await runMailplane(['reconcile', '--apply'], { ...h.env, LOG_LEVEL: 'warn' });
    expect(cli.code, cli.stderr).toBe(0);
    expect(cli.stdout).toContain(`deleted orphan server`);
    expect(cli.stdout).toContain(orphan.id);
    expect(h.sandbox.scaleway!.listServers().map((s: { id: string }) => s.id)).not.toContain(orphan.id);
    const [after] = await h.database.db.select().from(alerts).where(eq(alerts.id, alert!.id));
    expect(after!.resolvedAt).not.toBeNull();
    expect((await reconcile(deps, { apply: false, actor: SYSTEM_ACTOR })).findings).toEqual([]);
  }, 60_000);

  it('reports a Block Storage volume left behind by a terminated instance, and --apply deletes it', async () => {
    const volume = h.sandbox.scaleway!.createOrphanVolume('fr-par-1', ['mailplane', 'mailplane-server=00000000-0000-4000-8000-00000000dead']);
    const dry = await reconcile(deps, { apply: false, actor: SYSTEM_ACTOR });
    expect(dry.findings.map((f) => [f.kind, f.resource, f.providerId])).toEqual([['orphan', 'volume', volume.id]]);
    const applied = await reconcile(deps, { apply: true, actor: SYSTEM_ACTOR });
    expect(applied.deleted.map((f) => f.providerId)).toEqual([volume.id]);
    expect(h.sandbox.scaleway!.listVolumes().some((v) => v.id === volume.id)).toBe(false);
  });

  it('reports an unused security group of a server that no longer exists, and --apply deletes it', async () => {
    const group = await h.ctx.providers.compute.ensureSecurityGroup('fr-par-1', {
      name: 'left-behind',
      tags: ['mailplane', 'mailplane-server=00000000-0000-4000-8000-00000000beef'],
      inboundTcpPorts: [25],
    });
    const dry = await reconcile(deps, { apply: false, actor: SYSTEM_ACTOR });
    expect(dry.findings.map((f) => [f.kind, f.resource, f.providerId])).toEqual([['orphan', 'security_group', group.id]]);
    await reconcile(deps, { apply: true, actor: SYSTEM_ACTOR });
    expect(h.sandbox.scaleway!.listSecurityGroups().some((g) => g.id === group.id)).toBe(false);
  });

  it('reports a live server IP that vanished at the provider as a ghost, and deletes nothing', async () => {
    const [v6] = await h.database.db
      .select()
      .from(serverIps)
      .where(and(eq(serverIps.serverId, server.id), eq(serverIps.address, server.ipv6!)));
    await h.ctx.providers.compute.deleteIp(server.zone as never, v6!.providerIpId);
    const instancesBefore = h.sandbox.scaleway!.listServers().length;
    const result = await reconcile(deps, { apply: true, actor: SYSTEM_ACTOR });
    expect(result.findings.map((f) => [f.kind, f.resource, f.providerId, f.serverId])).toEqual([['ghost', 'ip', v6!.providerIpId, server.id]]);
    expect(result.deleted).toEqual([]);
    expect(h.sandbox.scaleway!.listServers()).toHaveLength(instancesBefore);
    const ghosts = await h.database.db
      .select()
      .from(alerts)
      .where(and(eq(alerts.kind, 'ghost_resource'), isNull(alerts.resolvedAt)));
    expect(ghosts.map((g) => g.serverId)).toEqual([server.id]);
  });
});

describe('GET /metrics', () => {
  it('serves Prometheus text with runs, step durations, retries, queue depth, listings and open alerts', async () => {
    h.sandbox.listings.list(server.ipv4!, { zones: [ZONE] });
    await checkServer(deps, server.id);
    const res = await h.call('GET', '/metrics');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const samples = new Map<string, number>();
    const typed = new Set<string>();
    for (const line of String(res.body).trimEnd().split('\n')) {
      const comment = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.+)$/.exec(line);
      if (comment) {
        if (comment[1] === 'TYPE') typed.add(comment[2]!);
        continue;
      }
      const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})? (-?[0-9.e+]+|\+Inf|NaN)$/.exec(line);
      expect(sample, line).not.toBeNull();
      samples.set(`${sample![1]}${sample![2] ?? ''}`, Number(sample![3]));
    }
    for (const family of [
      'mailplane_provisioning_runs_total',
      'mailplane_provisioning_step_duration_seconds',
      'mailplane_provisioning_step_retries_total',
      'mailplane_job_queue_depth',
      'mailplane_blacklist_listings',
      'mailplane_alerts_open',
    ])
      expect(typed).toContain(family);
    expect(samples.get('mailplane_provisioning_runs_total{kind="provision",status="succeeded"}')).toBe(1);
    expect(samples.get('mailplane_provisioning_runs_total{kind="rotate_ip",status="succeeded"}')).toBe(2); // by hand, then automatic
    expect(samples.get('mailplane_provisioning_step_duration_seconds_count{step="verify"}')).toBe(1);
    expect(samples.get('mailplane_provisioning_step_duration_seconds_bucket{step="verify",le="+Inf"}')).toBe(1);
    expect(samples.has('mailplane_provisioning_step_retries_total{step="set_ptr"}')).toBe(true);
    expect(samples.has('mailplane_job_queue_depth{queue="provisioning.step",state="ready"}')).toBe(true);
    expect(samples.get(`mailplane_blacklist_listings{zone="${ZONE}"}`)).toBe(1);
    expect(samples.get('mailplane_alerts_open{kind="ip_listed",severity="critical"}')).toBe(1);
  });

  it('wants the token when one is configured, and refuses non-loopback clients when none is', async () => {
    const token = 'metrics-token-0123456789abcdef';
    const base = apiDeps(h.ctx);
    const withToken = createApp({ ...base, config: { ...base.config, ops: { ...base.config.ops, metricsToken: token } } });
    expect((await withToken.request('/metrics')).status).toBe(401);
    expect((await withToken.request('/metrics', { headers: { authorization: 'Bearer wrong-token-0123456789' } })).status).toBe(401);
    const ok = await withToken.request('/metrics', { headers: { authorization: `Bearer ${token}` } });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('# TYPE mailplane_alerts_open gauge');
    // app.request has no socket: the client address is unknown, so not loopback.
    const refused = await createApp(base).request('/metrics');
    expect(refused.status).toBe(403);
    expect(refused.headers.get('content-type')).toBe('application/problem+json');
  });
});
