/**
 * EU VAT at checkout: the session mailplane creates asks Stripe Tax to compute
 * VAT, collects the buyer's VAT ID and requires the billing address (product
 * defaults). Read back from the emulator, which echoes them as Stripe does.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../../support/provisioning.ts';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ workers: false });
});
afterAll(async () => {
  await h?.close();
});

describe('EU VAT at checkout', () => {
  it('creates the checkout session with automatic tax, tax ID collection and a required billing address', async () => {
    const { token, workspaceId } = await h.customer('vat@example.org');
    const res = await h.call('POST', `/v1/workspaces/${workspaceId}/checkout`, {
      token,
      body: { plan: 'starter', region: 'fr-par-1', domain: 'vat-mail.example' },
    });
    expect(res.status).toBe(201);
    const session = h.sandbox.stripe!.sessions().find((s) => s.id === res.body.sessionId);
    expect(session).toMatchObject({
      automatic_tax: { enabled: true },
      tax_id_collection: { enabled: true, required: 'if_supported' },
      billing_address_collection: 'required',
    });
    const page = await (await fetch(res.body.checkoutUrl)).text();
    expect(page).toContain('Billing address');
    expect(page).toContain('VAT number');
  });

  it("puts a workspace's next subscription on the same Stripe customer, letting Checkout update its address and name", async () => {
    const { token, workspaceId } = await h.customer('second@example.org');
    const checkout = (domain: string) =>
      h.call('POST', `/v1/workspaces/${workspaceId}/checkout`, { token, body: { plan: 'starter', region: 'fr-par-1', domain } });
    const first = await checkout('first-of-two.example');
    expect((await h.sandbox.stripe!.completeCheckout(first.body.sessionId)).status).toBe(200);
    const customer = h.sandbox.stripe!.sessions().find((s) => s.id === first.body.sessionId)!.customer;
    const second = await checkout('second-of-two.example');
    expect(second.status).toBe(201);
    expect(h.sandbox.stripe!.sessions().find((s) => s.id === second.body.sessionId)).toMatchObject({
      customer,
      customer_email: null,
      automatic_tax: { enabled: true },
    });
    expect((await h.sandbox.stripe!.completeCheckout(second.body.sessionId)).status).toBe(200);
    expect(h.sandbox.stripe!.subscriptions().filter((s) => s.customer === customer)).toHaveLength(2);
    // One portal for both servers.
    const portal = await h.call('POST', `/v1/workspaces/${workspaceId}/billing/portal`, { token });
    const page = await (await fetch(portal.body.url)).text();
    expect(page).toContain('first-of-two.example');
    expect(page).toContain('second-of-two.example');

    // A customer removed at Stripe by hand: the next checkout makes a new one instead of failing.
    await h.ctx.providers.billing.deleteCustomer(customer!);
    const third = await checkout('third-of-three.example');
    expect(third.status).toBe(201);
    expect(h.sandbox.stripe!.sessions().find((s) => s.id === third.body.sessionId)).toMatchObject({ customer: null, customer_email: 'second@example.org' });
  });
});
