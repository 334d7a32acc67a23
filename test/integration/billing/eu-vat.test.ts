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
    const res = await h.call('POST', `/v1/workspaces/${workspaceId}/checkout`, { token, body: { plan: 'starter', region: 'fr-par-1', domain: 'vat-mail.example' } });
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
});
