/**
 * Stripe's payment_status decides: a checkout completed by SEPA Direct Debit is
 * `unpaid` until the debit settles, so nothing is provisioned before
 * checkout.session.async_payment_succeeded; a bounced debit provisions nothing.
 * The person's path is the emulator's hosted pages (pay by SEPA, then
 * "payment succeeds" / "payment fails" on the subscription page).
 */
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkouts, servers, subscriptions } from '../../../src/db/schema/index.ts';
import { startHarness, type Harness } from '../../support/provisioning.ts';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ workers: false });
});
afterAll(async () => {
  await h?.close();
});

async function checkout(email: string, domain: string) {
  const { token, workspaceId } = await h.customer(email);
  const res = await h.call('POST', `/v1/workspaces/${workspaceId}/checkout`, { token, body: { plan: 'starter', region: 'fr-par-1', domain } });
  expect(res.status).toBe(201);
  return res.body as { checkoutId: string; sessionId: string; checkoutUrl: string };
}

const serverFor = async (domain: string) => (await h.database.db.select().from(servers).where(eq(servers.domain, domain)))[0];
const checkoutRow = async (id: string) => (await h.database.db.select().from(checkouts).where(eq(checkouts.id, id)))[0]!;

describe('delayed payment methods', () => {
  it('provisions nothing for a session completed unpaid, then provisions when the debit settles', async () => {
    const c = await checkout('sepa@example.org', 'sepa-mail.example');
    const completed = await h.sandbox.stripe!.completeCheckout(c.sessionId, 'sepa_debit');
    expect(completed.status).toBe(200);
    expect(JSON.parse(completed.body).data.object.payment_status).toBe('unpaid');
    expect(await serverFor('sepa-mail.example')).toBeUndefined();
    expect((await checkoutRow(c.checkoutId)).status).toBe('awaiting_payment');

    const settled = await h.sandbox.stripe!.settlePayment(c.sessionId, 'succeeded');
    expect([settled.type, settled.status]).toEqual(['checkout.session.async_payment_succeeded', 200]);
    expect((await serverFor('sepa-mail.example'))?.status).toBe('provisioning');
    expect((await checkoutRow(c.checkoutId)).status).toBe('completed');
    const [sub] = await h.database.db.select().from(subscriptions).where(eq(subscriptions.checkoutId, c.checkoutId));
    expect(sub?.status).toBe('active');
  });

  it('provisions nothing when the debit bounces, and says so on the checkout', async () => {
    const c = await checkout('bounce@example.org', 'bounce-mail.example');
    await h.sandbox.stripe!.completeCheckout(c.sessionId, 'sepa_debit');
    const failed = await h.sandbox.stripe!.settlePayment(c.sessionId, 'failed');
    expect([failed.type, failed.status]).toEqual(['checkout.session.async_payment_failed', 200]);
    expect(await serverFor('bounce-mail.example')).toBeUndefined();
    expect((await checkoutRow(c.checkoutId)).status).toBe('payment_failed');
  });

  it('lets a person pay by SEPA on the hosted page and settle it from the subscription page', async () => {
    const c = await checkout('person@example.org', 'person-mail.example');
    const page = await fetch(c.checkoutUrl);
    expect(await page.text()).toContain('SEPA Direct Debit');
    const paid = await fetch(c.checkoutUrl, {
      method: 'POST',
      body: new URLSearchParams({ method: 'sepa_debit', country: 'NL', line1: 'Dam 1', postal_code: '1012 JS', city: 'Amsterdam' }),
    });
    expect(await paid.text()).toContain('payment pending');
    expect(await serverFor('person-mail.example')).toBeUndefined();
    const subscriptionId = h.sandbox.stripe!.sessions().find((s) => s.id === c.sessionId)!.subscription!;
    const manage = await (await fetch(`${h.sandbox.stripe!.url}/manage/subscriptions/${subscriptionId}`)).text();
    expect(manage).toContain('Payment succeeds');
    expect(manage).toContain('Payment fails');
    const settled = await fetch(`${h.sandbox.stripe!.url}/manage/subscriptions/${subscriptionId}/settle/succeeds`, { method: 'POST' });
    expect(await settled.text()).toContain('async_payment_succeeded');
    expect((await serverFor('person-mail.example'))?.status).toBe('provisioning');
  });
});
