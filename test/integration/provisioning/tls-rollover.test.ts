/**
 * A TLS key rollover on the sandbox: the TLSA records of both keys answer while the run waits for
 * their TTL (the host still serving the current key), then the host serves the next key, and only
 * its record is left. Who may start one, and what it refuses.
 */
import { and, desc, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog, provisioningRuns, provisioningSteps, servers, vaultSecrets } from '../../../src/db/schema/index.ts';
import { startHarness, type Harness } from '../../support/provisioning.ts';
import { until } from '../../support/until.ts';

let h: Harness;
beforeAll(async () => {
  // Two seconds between publishing both records and switching: long enough to look at the published pair.
  h = await startHarness({ env: { TLSA_ROLLOVER_WAIT_SECONDS: '2' } });
});
afterAll(async () => {
  await h?.close();
});

const row = async (id: string) => (await h.database.db.select().from(servers).where(eq(servers.id, id)))[0]!;
const tlsa = async (hostname: string) => {
  const r = await h.ctx.providers.lookup.lookup(`_25._tcp.${hostname}`, 'TLSA');
  return r.status === 'ok' ? r.answers.map((a) => a.toLowerCase()).sort() : [];
};
let opsToken: string | null = null;
const ops = async () => (opsToken ??= await h.staff('tls-ops@example.org', 'ops'));
const latestRun = async (serverId: string) =>
  (await h.database.db.select().from(provisioningRuns).where(eq(provisioningRuns.serverId, serverId)).orderBy(desc(provisioningRuns.createdAt)).limit(1))[0]!;

describe('TLS key rollover', () => {
  it('publishes both TLSA records, switches the key after their TTL, then removes the old record', async () => {
    const { token, workspaceId } = await h.customer('tls-roll@example.org');
    const { serverId } = await h.readyServer(token, workspaceId, 'tls-roll.example');
    const before = await row(serverId);
    expect(await tlsa(before.hostname)).toEqual([`3 1 1 ${before.tlsSpkiSha256}`]);
    const lineageBefore = (
      await h.database.db
        .select()
        .from(vaultSecrets)
        .where(and(eq(vaultSecrets.ownerId, serverId), eq(vaultSecrets.purpose, 'tls_lineage')))
    )[0]!;

    const started = await h.call('POST', `/v1/admin/servers/${serverId}/tls/rollover`, { token: await ops(), body: { reason: 'the key may have leaked' } });
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    // While it waits for the TTL: both keys' records answer, the host still serves the current key.
    await h.waitForStep(serverId, 'switch_tls_key', 'waiting', 30_000);
    const during = await row(serverId);
    expect(during.status).toBe('ready');
    expect(during.tlsNextSpkiSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(during.tlsSpkiSha256).toBe(before.tlsSpkiSha256);
    expect(await tlsa(before.hostname)).toEqual([`3 1 1 ${before.tlsSpkiSha256}`, `3 1 1 ${during.tlsNextSpkiSha256}`].sort());
    const [waiting] = await h.database.db
      .select()
      .from(provisioningSteps)
      .where(and(eq(provisioningSteps.runId, started.body.runId), eq(provisioningSteps.name, 'switch_tls_key')));
    expect(waiting!.waitingFor).toMatchObject({ code: 'tlsa_rollover_ttl', party: 'ops' });

    const run = await until(
      'the rollover to finish',
      async () => {
        const r = await latestRun(serverId);
        return r.status !== 'running' ? r : null;
      },
      60_000,
    );
    expect(run, run.error ?? '').toMatchObject({ kind: 'roll_tls_key', status: 'succeeded' });
    const after = await row(serverId);
    expect(after).toMatchObject({ status: 'ready', tlsSpkiSha256: during.tlsNextSpkiSha256, tlsNextSpkiSha256: null, tlsNextTlsaAt: null });
    expect(await tlsa(before.hostname)).toEqual([`3 1 1 ${during.tlsNextSpkiSha256}`]);
    // The lineage in the vault is the new key's, so a rebuild serves it.
    const lineageAfter = (
      await h.database.db
        .select()
        .from(vaultSecrets)
        .where(and(eq(vaultSecrets.ownerId, serverId), eq(vaultSecrets.purpose, 'tls_lineage')))
    )[0]!;
    expect(lineageAfter.ciphertext).not.toBe(lineageBefore.ciphertext);
    const actions = (await h.database.db.select({ action: auditLog.action }).from(auditLog).where(eq(auditLog.target, serverId))).map((a) => a.action);
    expect(actions).toEqual(expect.arrayContaining(['tls.rollover', 'tls.next_tlsa_published', 'tls.rolled_over']));
  });

  it('is on the support page, with the DKIM keys, for support and ops', async () => {
    const { token, workspaceId } = await h.customer('tls-web@example.org');
    const { serverId } = await h.readyServer(token, workspaceId, 'tls-web.example');
    const support = await h.staff('tls-web-support@example.org', 'support');
    const origin = new URL(h.ctx.config.http.publicUrl).origin;
    const page = (who: string, action?: string, form?: Record<string, string>) =>
      fetch(`${h.baseUrl}/support/servers/${serverId}${action ?? ''}`, {
        method: form ? 'POST' : 'GET',
        redirect: 'manual',
        headers: { cookie: `mailplane_session=${who}`, ...(form ? { 'content-type': 'application/x-www-form-urlencoded', origin } : {}) },
        ...(form ? { body: new URLSearchParams(form).toString() } : {}),
      });
    const html = await (await page(support)).text();
    expect(html).toContain((await row(serverId)).tlsSpkiSha256!);
    expect(html).toContain('Roll over the TLS key');
    expect(html).toContain('Rotate DKIM keys now');
    expect((await page(token, '/tls/rollover', { reason: 'a customer tries' })).status).not.toBe(303);
    expect((await latestRun(serverId)).kind).toBe('provision');
    const posted = await page(support, '/dkim/rotate', { reason: 'support rotates' });
    expect(posted.status).toBe(303);
    expect(posted.headers.get('location')).toContain('notice=dkim_rotation');
    const run = await until(
      'the rotation to finish',
      async () => {
        const r = await latestRun(serverId);
        return r.status !== 'running' ? r : null;
      },
      60_000,
    );
    expect(run).toMatchObject({ kind: 'rotate_dkim', status: 'succeeded' });
    // A run in progress: refused on the page, nothing started.
    const rolled = await page(support, '/tls/rollover', { reason: 'support rolls', keyType: 'rsa' });
    expect(rolled.status).toBe(303);
    const again = await page(support, '/tls/rollover', { reason: 'twice' });
    expect(again.status).toBe(409);
    expect(await again.text()).toContain('in progress');
  });

  it('is for support and ops only, on a ready server, with a reason', async () => {
    const { token, workspaceId } = await h.customer('tls-perm@example.org');
    const { serverId } = await h.readyServer(token, workspaceId, 'tls-perm.example');
    const path = `/v1/admin/servers/${serverId}/tls/rollover`;
    expect((await h.call('POST', path, { token, body: { reason: 'a customer asks' } })).status).toBe(403);
    expect((await h.call('POST', path, { body: { reason: 'nobody asks' } })).status).toBe(401);
    for (const body of [{ reason: 'x' }, { reason: 'fine', keyType: 'dsa' }, { reason: 'fine', extra: true }]) {
      const bad = await h.call('POST', path, { token: await ops(), body });
      expect(bad.status, JSON.stringify(body)).toBe(400);
      expect(bad.headers.get('content-type')).toContain('application/problem+json');
    }
    expect((await latestRun(serverId)).kind).toBe('provision');
    const support = await h.staff('tls-support@example.org', 'support');
    expect((await h.call('POST', path, { token: support, body: { reason: 'support rolls it', keyType: 'rsa' } })).status).toBe(202);
    expect((await h.call('POST', path, { token: await ops(), body: { reason: 'twice at once' } })).status).toBe(409);
    const run = await until(
      'the rollover to finish',
      async () => {
        const r = await latestRun(serverId);
        return r.status !== 'running' ? r : null;
      },
      60_000,
    );
    expect(run.status, run.error ?? '').toBe('succeeded');
    await h.database.db.update(servers).set({ status: 'suspended' }).where(eq(servers.id, serverId));
    expect((await h.call('POST', path, { token: await ops(), body: { reason: 'while suspended' } })).status).toBe(409);
  });
});
