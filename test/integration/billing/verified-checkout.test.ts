/**
 * Paying needs a confirmed address: the server's "ready" and "action needed" mail go there.
 * An unconfirmed account is refused with a 403 saying what to do, from the API as from the
 * dashboard, and nothing is created; GET /v1/me says whether the address is confirmed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../../support/provisioning.ts';

let h: Harness;
let fresh: { token: string; workspaceId: string };
beforeAll(async () => {
  h = await startHarness({ workers: false });
  fresh = await h.customer('unconfirmed@verified-checkout.example', { verified: false });
}, 60_000);
afterAll(() => h?.close());

const checkout = (domain: string) =>
  h.call('POST', `/v1/workspaces/${fresh.workspaceId}/checkout`, { token: fresh.token, body: { plan: 'starter', region: 'fr-par-1', domain } });
const count = async (table: string) => Number((await h.database.sql.unsafe(`select count(*)::int as n from ${table}`))[0]!['n']);

describe('checkout and the confirmed address', () => {
  it('GET /v1/me says the address is not confirmed yet', async () => {
    const me = await h.call('GET', '/v1/me', { token: fresh.token });
    expect(me.status).toBe(200);
    expect(me.body.user.emailVerified).toBe(false);
  });

  it('refuses an unconfirmed account with 403 problem+json saying how to confirm, and creates nothing', async () => {
    // The checkout row is written before Stripe is called: none means no session either.
    const checkouts = await count('checkouts');
    const res = await checkout('unconfirmed-shop.example');
    expect(res.status).toBe(403);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(res.body.code).toBe('email_unverified');
    expect(res.body.detail).toContain('unconfirmed@verified-checkout.example');
    expect(res.body.detail).toContain('/v1/me/email/verification');
    expect(await count('checkouts')).toBe(checkouts);
  });

  it('refuses it on the dashboard too, with the same sentence', async () => {
    const res = await fetch(`${h.baseUrl}/w/${fresh.workspaceId}/subscribe`, {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie: `mailplane_session=${fresh.token}`, origin: h.baseUrl, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ plan: 'starter', region: 'fr-par-1', domain: 'unconfirmed-shop.example' }).toString(),
    });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('Confirm your email address');
  });

  it('lets the same account pay once it has confirmed through the mailed link', async () => {
    await h.verifyEmail('unconfirmed@verified-checkout.example');
    expect((await h.call('GET', '/v1/me', { token: fresh.token })).body.user.emailVerified).toBe(true);
    const res = await checkout('confirmed-shop.example');
    expect(res.status, JSON.stringify(res.body)).toBe(201);
  });
});
