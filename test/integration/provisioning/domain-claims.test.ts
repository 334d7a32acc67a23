/**
 * A domain and every name under it belong to one server (so one workspace):
 * another tenant cannot buy a server for a parent or a child of a served
 * domain, not even by paying two checkouts at once; names the product uses
 * itself are refused. Checkout takes registrable domains only (a subdomain cannot be a
 * Cloudflare zone), no reserved, special-use or mailbox-provider name, and flags a look-alike
 * of another customer's domain for ops. Workers are off: only checkout and the webhook run.
 */
import { domainToASCII } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../../support/provisioning.ts';

let h: Harness;
let a: { token: string; workspaceId: string };
let b: { token: string; workspaceId: string };
beforeAll(async () => {
  h = await startHarness({ workers: false, env: { MAIL_FROM: 'mailplane <no-reply@mailplane-mail.test>' } });
  a = await h.customer('claims-a@example.com');
  b = await h.customer('claims-b@example.com');
  await h.subscribe(a.token, a.workspaceId, 'carol-mail.test');
}, 120_000);
afterAll(() => h?.close());

const checkout = (who: { token: string; workspaceId: string }, domain: string) =>
  h.call('POST', `/v1/workspaces/${who.workspaceId}/checkout`, { token: who.token, body: { plan: 'starter', region: 'fr-par-1', domain } });
const serverCount = async () => Number((await h.database.sql`select count(*)::int as n from servers`)[0]!['n']);

/** A server for a subdomain, as one bought before subdomains were refused at checkout. */
async function legacySubdomainServer(workspaceId: string, domain: string): Promise<void> {
  await h.database
    .sql`insert into servers (workspace_id, plan_id, zone, domain, hostname) values (${workspaceId}, 'starter', 'fr-par-1', ${domain}, ${`mail.${domain}`})`;
}

describe('domain claims', () => {
  it('refuses another workspace the served domain itself', async () => {
    const before = await serverCount();
    const res = await checkout(b, 'carol-mail.test');
    expect(res.status).toBe(409);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(res.body.code).toBe('domain_taken');
    expect(await serverCount()).toBe(before);
  });

  it('refuses a parent of a served domain', async () => {
    await legacySubdomainServer(a.workspaceId, 'eu.parent-claim.test');
    const res = await checkout(b, 'parent-claim.test');
    expect(res.status).toBe(409);
    expect(res.body.code).toBe('domain_taken');
  });

  it('accepts names that only look alike', async () => {
    for (const domain of ['carol-mail-test.example', 'xcarol-mail.test', 'mail-carol-mail.test']) {
      expect((await checkout(b, domain)).status, domain).toBe(201);
    }
  });

  it('refuses names the service itself uses: nameservers, the DNSBL zones it queries, the domain its own mail comes from', async () => {
    for (const domain of ['cloudflare-sandbox.test', 'cloudflare.com', 'spamhaus.org', 'spamcop.net', 'mailplane-mail.test']) {
      const res = await checkout(b, domain);
      expect(res.status, domain).toBe(400);
      expect(res.body.code).toBe('validation_failed');
    }
  });

  it('provisions only one of two overlapping checkouts paid at the same time', async () => {
    const parent = await checkout(a, 'race-claim.test');
    const child = await checkout(b, 'race-child-claim.test');
    expect([parent.status, child.status]).toEqual([201, 201]);
    // A subdomain checkout started before subdomains were refused at checkout.
    await h.database.sql`update checkouts set domain = 'mail.race-claim.test' where id = ${child.body.checkoutId}`;
    await h.sandbox.stripe!.completeCheckout(parent.body.sessionId);
    await h.sandbox.stripe!.completeCheckout(child.body.sessionId);
    const rows = await h.database.sql`select domain from servers where domain like '%race-claim.test'`;
    expect(rows.map((r) => r['domain'])).toEqual(['race-claim.test']);
  });

  it.each([
    ['mail.carol-mail.test', 'subdomain', /registered domain \(carol-mail\.test\)/],
    ['shop.acme-claims.test', 'subdomain', /subdomain/],
    ['example.com', 'special_use', /RFC 2606/],
    ['printer.local', 'special_use', /special-use/],
    ['in-addr.arpa', 'special_use', /reserved/],
    ['10.in-addr.arpa', 'special_use', /reserved/],
    ['ip6.arpa', 'special_use', /reserved/],
    ['gmail.com', 'mailbox_provider', /mailbox provider/],
    ['outlook.com', 'mailbox_provider', /mailbox provider/],
    ['co.uk', 'public_suffix', /public suffix/],
  ])('refuses %s at checkout with a clear 400 (%s), creating nothing', async (domain, reason, message) => {
    const before = await h.database.sql`select count(*)::int as n from checkouts`;
    const res = await checkout(b, domain);
    expect(res.status, JSON.stringify(res.body)).toBe(400);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(res.body).toMatchObject({ code: 'validation_failed', reason, errors: [{ path: 'json.domain' }] });
    expect(res.body.detail).toMatch(message);
    const after = await h.database.sql`select count(*)::int as n from checkouts`;
    expect(after[0]!['n']).toBe(before[0]!['n']);
  });

  it("serves a punycode look-alike of another customer's domain, and opens an alert for ops to review it", async () => {
    await h.subscribe(a.token, a.workspaceId, 'apple-claims.test');
    const lookalike = domainToASCII('аpple-claims.test'); // Cyrillic а
    expect(lookalike).toMatch(/^xn--/);
    const { serverId } = await h.subscribe(b.token, b.workspaceId, lookalike);
    const alerts = await h.database.sql`select kind, severity, server_id, message from alerts where kind = 'confusable_domain'`;
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ severity: 'warning', server_id: serverId });
    expect(alerts[0]!['message']).toContain('apple-claims.test');
    // The customer's own second domain is not a look-alike of anyone else's.
    await h.subscribe(a.token, a.workspaceId, domainToASCII('аpple-claims-two.test'));
    expect(await h.database.sql`select 1 from alerts where kind = 'confusable_domain'`).toHaveLength(1);
  });
});
