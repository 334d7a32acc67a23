/**
 * Where Stripe sends the customer back: /checkout/done and /checkout/cancelled
 * (the URLs checkout gives Stripe) answer for the signed-in customer of that
 * checkout, send anyone signed out to sign in, and hide other tenants' checkouts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STRONG_PASSWORD } from '../../support/api.ts';
import { startHarness, type Harness } from '../../support/provisioning.ts';

let h: Harness;
let cookie: string;
let otherCookie: string;
let checkoutId: string;
beforeAll(async () => {
  h = await startHarness({ workers: false });
  const owner = await h.customer('return-owner@example.com');
  await h.customer('return-other@example.com');
  const signIn = async (email: string) => {
    const res = await fetch(`${h.baseUrl}/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password: STRONG_PASSWORD }),
    });
    return (res.headers.get('set-cookie') ?? '').split(';')[0]!;
  };
  cookie = await signIn('return-owner@example.com');
  otherCookie = await signIn('return-other@example.com');
  const checkout = await h.call('POST', `/v1/workspaces/${owner.workspaceId}/checkout`, {
    token: owner.token,
    body: { plan: 'starter', region: 'fr-par-1', domain: 'return-page.test' },
  });
  expect(checkout.status).toBe(201);
  checkoutId = checkout.body.checkoutId;
}, 120_000);
afterAll(() => h?.close());

const get = (path: string, withCookie?: string) => fetch(`${h.baseUrl}${path}`, { redirect: 'manual', headers: withCookie ? { cookie: withCookie } : {} });

describe('the pages Stripe returns the customer to', () => {
  it.each(['done', 'cancelled'])('/checkout/%s answers the customer with a page about their checkout', async (which) => {
    const res = await get(`/checkout/${which}?checkout=${checkoutId}`, cookie);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await res.text()).toContain('return-page.test');
  });

  it('sends a signed-out visitor to sign in and back', async () => {
    const res = await get(`/checkout/done?checkout=${checkoutId}`);
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe(`/login?next=${encodeURIComponent(`/checkout/done?checkout=${checkoutId}`)}`);
  });

  it("does not show another workspace's checkout", async () => {
    expect((await get(`/checkout/done?checkout=${checkoutId}`, otherCookie)).status).toBe(404);
    expect((await get('/checkout/cancelled?checkout=not-a-checkout', cookie)).status).toBe(404);
  });
});
