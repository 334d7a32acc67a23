/**
 * A domain and every name under it belong to one server (so one workspace):
 * another tenant cannot buy a server for a parent or a child of a served
 * domain, not even by paying two checkouts at once; names the product uses
 * itself are refused. Workers are off: only checkout and the webhook run.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../../support/provisioning.ts';

let h: Harness;
let a: { token: string; workspaceId: string };
let b: { token: string; workspaceId: string };
beforeAll(async () => {
  h = await startHarness({ workers: false });
  a = await h.customer('claims-a@example.com');
  b = await h.customer('claims-b@example.com');
  await h.subscribe(a.token, a.workspaceId, 'carol-mail.test');
}, 120_000);
afterAll(() => h?.close());

const checkout = (who: { token: string; workspaceId: string }, domain: string) =>
  h.call('POST', `/v1/workspaces/${who.workspaceId}/checkout`, { token: who.token, body: { plan: 'starter', region: 'fr-par-1', domain } });
const serverCount = async () => Number((await h.database.sql`select count(*)::int as n from servers`)[0]!['n']);

describe('domain claims', () => {
  it.each(['mail.carol-mail.test', 'deep.mail.carol-mail.test', 'carol-mail.test'])('refuses another workspace %s under or at a served domain', async (domain) => {
    const before = await serverCount();
    const res = await checkout(b, domain);
    expect(res.status).toBe(409);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(res.body.code).toBe('domain_taken');
    expect(await serverCount()).toBe(before);
  });

  it('refuses a parent of a served domain', async () => {
    await h.subscribe(a.token, a.workspaceId, 'eu.parent-claim.test');
    const res = await checkout(b, 'parent-claim.test');
    expect(res.status).toBe(409);
    expect(res.body.code).toBe('domain_taken');
  });

  it('accepts names that only look alike', async () => {
    for (const domain of ['carol-mail.test.example', 'xcarol-mail.test', 'mail-carol-mail.test']) {
      expect((await checkout(b, domain)).status, domain).toBe(201);
    }
  });

  it('refuses names the service itself uses: nameservers and the DNSBL zones it queries', async () => {
    for (const domain of ['ns1.cloudflare-sandbox.test', 'cloudflare.com', 'zen.spamhaus.org', 'spamhaus.org', 'x.bl.spamcop.net']) {
      const res = await checkout(b, domain);
      expect(res.status, domain).toBe(400);
      expect(res.body.code).toBe('validation_failed');
    }
  });

  it('provisions only one of two overlapping checkouts paid at the same time', async () => {
    const parent = await checkout(a, 'race-claim.test');
    const child = await checkout(b, 'mail.race-claim.test');
    expect([parent.status, child.status]).toEqual([201, 201]);
    await h.sandbox.stripe!.completeCheckout(parent.body.sessionId);
    await h.sandbox.stripe!.completeCheckout(child.body.sessionId);
    const rows = await h.database.sql`select domain from servers where domain like '%race-claim.test'`;
    expect(rows.map((r) => r['domain'])).toEqual(['race-claim.test']);
  });
});
