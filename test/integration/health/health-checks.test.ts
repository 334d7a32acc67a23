/**
 * Health checks of a ready server on the sandbox: stored with the time they
 * last changed, mailed to the owners once per change, a DNSBL zone's error
 * codes reported as "could not check", and the API's checks route.
 */
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blacklistChecks, sandboxMail, serverIps } from '../../../src/db/schema/index.ts';
import { CHECK_NAMES } from '../../../src/health/check-types.ts';
import { runServerChecks } from '../../../src/health/run-checks.ts';
import { DEFAULT_DNSBL_ZONES } from '../../../src/providers/lookup/dnsbl-zones.ts';
import { startHarness, type Harness } from '../../support/provisioning.ts';
import { until } from '../../support/until.ts';

let h: Harness;
let ws: string;
let token: string;
let serverId: string;

beforeAll(async () => {
  h = await startHarness();
  ({ token, workspaceId: ws } = await h.customer('owner@checks.example'));
  ({ serverId } = await h.subscribe(token, ws, 'checks.example'));
  await h.waitForServer(serverId, ['ready'], 90_000);
  // The first health run comes with `ready` (queued in the same transaction); the tests below start after it.
  const deadline = Date.now() + 60_000;
  while ((await h.database.sql`select count(*)::int as n from server_checks where server_id = ${serverId}`)[0]!['n'] < CHECK_NAMES.length) {
    if (Date.now() > deadline) throw new Error('no health run came with ready');
    await new Promise((r) => setTimeout(r, 100));
  }
  // The first drift check of a new server is due at the next minute's sweep and ends with a health run
  // of its own: let it finish, so the runs below are the only ones (and each one's mail is its own).
  await until(
    'the first drift check and its health run',
    async () => {
      const [jobs] = await h.database.sql`select count(*) filter (where name = 'fleet.drift_check' and state = 'completed')::int as drift,
      count(*) filter (where state in ('created', 'retry', 'active'))::int as busy
      from pgboss.job where name in ('fleet.drift_check', 'health.check_server') and data->>'serverId' = ${serverId}`;
      return jobs!['drift'] > 0 && jobs!['busy'] === 0;
    },
    240_000,
    200,
  );
}, 330_000);
afterAll(() => h?.close());

/** Health deps that find no recent stored DNSBL verdict, so the zones are asked during the run. */
const asking = () => ({ ...h.ctx.health, blacklistMaxAgeMinutes: 0 });
const healthMails = async () => (await h.database.db.select().from(sandboxMail)).filter((m) => /health checks|failing/.test(m.subject));

describe('health checks', () => {
  it('passes every check on a freshly provisioned server and mails nobody', async () => {
    const { results, notified } = await runServerChecks(h.ctx.health, serverId);
    expect(results.filter((r) => r.status !== 'pass').map((r) => `${r.name}: ${r.summary}`)).toEqual([]);
    expect(results).toHaveLength(CHECK_NAMES.length);
    expect(notified).toEqual([]);
    expect(await healthMails()).toHaveLength(0);
  });

  it('reports a listed IP as failing with what to do, mails the owners once, and once more when it clears', async () => {
    const [ip] = await h.database.db.select().from(serverIps).where(eq(serverIps.serverId, serverId));
    h.sandbox.listings.list(ip!.address);
    const first = await runServerChecks(asking(), serverId);
    const check = first.results.find((r) => r.name === 'blacklists')!;
    expect(check.status).toBe('fail');
    expect(check.summary).toContain(ip!.address);
    expect(check.action).toMatch(/\./);
    expect(first.notified.map((c) => c.to)).toEqual(['fail']);

    const second = await runServerChecks(asking(), serverId);
    expect(second.notified).toEqual([]);
    const mails = await healthMails();
    expect(mails).toHaveLength(1);
    expect(mails[0]!.to).toEqual(['owner@checks.example']);
    expect(mails[0]!.text).toContain('What to do:');

    const [row] = await h.database.sql`select changed_at, checked_at from server_checks where server_id = ${serverId} and name = 'blacklists'`;
    expect(new Date(row!['changed_at']).getTime()).toBeLessThan(new Date(row!['checked_at']).getTime());

    h.sandbox.listings.delist(ip!.address);
    const cleared = await runServerChecks(asking(), serverId);
    expect(cleared.notified.map((c) => `${c.from}→${c.to}`)).toEqual(['fail→pass']);
    expect(await healthMails()).toHaveLength(2);
  });

  it('reads the disk on the server: its boot volume sized for the plan, a warning at 80 %, a failure at 95 %, mailed once each', async () => {
    const [server] = await h.database.sql`select provider_server_id from servers where id = ${serverId}`;
    const hostId = server!['provider_server_id'] as string;
    const disk = (await runServerChecks(h.ctx.health, serverId)).results.find((r) => r.name === 'disk')!;
    // Starter sells 20 GB of mailboxes: a 30 GB volume, of which the installed system uses 2.5 GB.
    expect(disk).toMatchObject({ status: 'pass', details: { sizeBytes: 30_000_000_000, usedBytes: 2_500_000_000 } });
    try {
      h.sandbox.ssh!.setDiskUsed(hostId, 23_000_000_000);
      const warned = await runServerChecks(h.ctx.health, serverId);
      expect(warned.results.find((r) => r.name === 'disk')).toMatchObject({ status: 'warn', details: { percent: 81 } });
      expect(warned.notified.map((c) => `${c.title}: ${c.to}`)).toEqual(['Disk space: warn']);
      h.sandbox.ssh!.setDiskUsed(hostId, 28_000_000_000);
      const full = await runServerChecks(h.ctx.health, serverId);
      expect(full.results.find((r) => r.name === 'disk')).toMatchObject({ status: 'fail', action: expect.stringContaining('larger plan') });
      expect(full.notified.map((c) => `${c.from}→${c.to}`)).toEqual(['warn→fail']);
    } finally {
      h.sandbox.ssh!.setDiskUsed(hostId, 2_500_000_000);
    }
    const back = await runServerChecks(h.ctx.health, serverId);
    expect(back.results.find((r) => r.name === 'disk')?.status).toBe('pass');
  });

  it('reports a zone answering with its own error code as "could not check", never listed, and mails nothing', async () => {
    const [ip] = await h.database.db.select().from(serverIps).where(eq(serverIps.serverId, serverId));
    h.sandbox.listings.list(ip!.address, { zones: [DEFAULT_DNSBL_ZONES[0]!], codes: ['127.255.255.254'] });
    const before = (await healthMails()).length;
    const { results, notified } = await runServerChecks(asking(), serverId);
    const check = results.find((r) => r.name === 'blacklists')!;
    expect(check.status).toBe('unknown');
    expect(check.summary).toMatch(/could not check/);
    expect(notified).toEqual([]);
    expect((await healthMails()).length).toBe(before);
    h.sandbox.listings.delist(ip!.address);
  });

  it('answers the blacklists check from the verdicts the monitor stored, asking the zones only when none is recent', async () => {
    const [ip] = await h.database.db.select().from(serverIps).where(eq(serverIps.serverId, serverId));
    // The zones list the address now, but the verdicts stored at provisioning are recent: no zone is asked.
    h.sandbox.listings.list(ip!.address);
    try {
      const stored = (await runServerChecks(h.ctx.health, serverId)).results.find((r) => r.name === 'blacklists')!;
      expect(stored.status).toBe('pass');
      // The monitor's next round records the listing (as src/ops/monitor.ts stores it): the check reads it.
      await h.database.db
        .insert(blacklistChecks)
        .values({ serverId, address: ip!.address, zone: DEFAULT_DNSBL_ZONES[1]!, status: 'listed', codes: ['127.0.0.2'] });
      const listed = (await runServerChecks(h.ctx.health, serverId)).results.find((r) => r.name === 'blacklists')!;
      expect(listed).toMatchObject({ status: 'fail', details: { listed: [{ ip: ip!.address, zone: DEFAULT_DNSBL_ZONES[1] }] } });
    } finally {
      h.sandbox.listings.delist(ip!.address);
    }
    // Too old to answer (the monitor stopped): the zones are asked, and they no longer list it.
    const asked = (await runServerChecks(asking(), serverId)).results.find((r) => r.name === 'blacklists')!;
    expect(asked.status).toBe('pass');
  });

  it('keeps what a later run stored when an earlier one finishes after it: no overwrite, no mail', async () => {
    const [ip] = await h.database.db.select().from(serverIps).where(eq(serverIps.serverId, serverId));
    const latest = await runServerChecks(asking(), serverId);
    expect(latest.results.find((r) => r.name === 'blacklists')?.status).toBe('pass');
    const [stored] = await h.database.sql`select checked_at from server_checks where server_id = ${serverId} and name = 'blacklists'`;
    // A run that began just before it, while the zones listed the address, ends now.
    h.sandbox.listings.list(ip!.address);
    try {
      const earlier = new Date(new Date(stored!['checked_at']).getTime() - 1);
      const stale = await runServerChecks({ ...asking(), now: () => earlier }, serverId);
      expect(stale.results.find((r) => r.name === 'blacklists')?.status).toBe('fail');
      expect(stale.notified).toEqual([]);
    } finally {
      h.sandbox.listings.delist(ip!.address);
    }
    const [after] = await h.database.sql`select status, checked_at from server_checks where server_id = ${serverId} and name = 'blacklists'`;
    expect(after).toMatchObject({ status: 'pass', checked_at: stored!['checked_at'] });
  });

  it('serves the stored checks to members and 404 to strangers, documented in /openapi.json', async () => {
    const res = await h.call('GET', `/v1/workspaces/${ws}/servers/${serverId}/checks`, { token });
    expect(res.status).toBe(200);
    expect(res.body.checks.map((c: { name: string }) => c.name)).toContain('spf');
    expect(res.body.checks[0]).toMatchObject({ name: 'nameservers', status: 'pass', action: null });
    expect(typeof res.body.checks[0].changedAt).toBe('string');
    const stranger = await h.customer('stranger@checks.example');
    expect((await h.call('GET', `/v1/workspaces/${ws}/servers/${serverId}/checks`, { token: stranger.token })).status).toBe(404);
    const doc = (await h.call('GET', '/openapi.json')).body;
    expect(doc.paths['/v1/workspaces/{ws}/servers/{id}/checks'].get).toBeDefined();
    expect(doc.components.schemas.HealthCheck).toBeDefined();
  });
  it('mails nobody about a run that ends after its server stopped being ready (a deprovision under way)', async () => {
    const [ip] = await h.database.db.select().from(serverIps).where(eq(serverIps.serverId, serverId));
    const before = (await healthMails()).length;
    h.sandbox.listings.list(ip!.address);
    // As if a cancellation or an erasure had moved the server on while the run was looking.
    await h.database.sql`update servers set status = 'deprovisioning' where id = ${serverId}`;
    try {
      const run = await runServerChecks(asking(), serverId);
      expect(run.results.find((r) => r.name === 'blacklists')!.status).toBe('fail');
      expect(await healthMails()).toHaveLength(before);
    } finally {
      h.sandbox.listings.delist(ip!.address);
      await h.database.sql`update servers set status = 'ready' where id = ${serverId}`;
    }
  });
});
