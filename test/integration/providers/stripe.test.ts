/**
 * The Stripe adapter through the official SDK, over HTTP, against the emulator
 * on 127.0.0.1; webhooks go to a small receiver and come back through the
 * adapter's signature check, as they would from Stripe.
 */
import { systemClock } from '../../../src/clock.ts';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProviderError, ValidationError } from '../../../src/errors.ts';
import type { BillingProvider, CheckoutInput } from '../../../src/providers/billing/interface.ts';
import { createStripeBilling } from '../../../src/providers/billing/stripe.ts';
import { StripeEmulator, stripeSignature } from '../../../src/sandbox/stripe/emulator.ts';

const SECRET = 'whsec_test_integration_secret';

interface Received {
  body: string;
  signature: string | undefined;
}

/** Records every webhook it receives; tests wait on arrivals instead of sleeping. */
function webhookReceiver() {
  const received: Received[] = [];
  const waiters: { match: (r: Received) => boolean; resolve: (r: Received) => void }[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const entry = { body: Buffer.concat(chunks).toString('utf8'), signature: req.headers['stripe-signature'] as string | undefined };
      received.push(entry);
      for (const w of waiters.splice(0)) w.match(entry) ? w.resolve(entry) : waiters.push(w);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"received":true}');
    });
  });
  return {
    received,
    server,
    /** The first webhook (already received or still to come) whose event has this type and object id. */
    waitFor(type: string, objectId: string): Promise<Received> {
      const match = (r: Received) => {
        const event = JSON.parse(r.body) as { type: string; data: { object: { id: string } } };
        return event.type === type && event.data.object.id === objectId;
      };
      const done = received.find(match);
      return done ? Promise.resolve(done) : new Promise((resolve) => waiters.push({ match, resolve }));
    },
    last(eventId: string): Received {
      const found = received.filter((r) => (JSON.parse(r.body) as { id: string }).id === eventId).at(-1);
      if (!found) throw new Error(`no webhook received for ${eventId}`);
      return found;
    },
  };
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => null,
    (e: unknown) => e,
  );
}

function checkoutInput(ref: string, overrides: Partial<CheckoutInput> = {}): CheckoutInput {
  return {
    priceId: 'price_mailplane_starter',
    customerEmail: `${ref}@example.com`,
    clientReferenceId: ref,
    metadata: { checkoutId: ref, workspaceId: 'ws-1', domain: `${ref}.example`, zone: 'fr-par-1', plan: 'starter' },
    successUrl: `https://mailplane.test/checkout/done?checkout=${ref}`,
    cancelUrl: `https://mailplane.test/checkout/cancelled?checkout=${ref}`,
    tax: { automaticTax: true, taxIdCollection: true, billingAddressCollection: 'required' },
    ...overrides,
  };
}

describe('Stripe billing adapter against the emulator', () => {
  const receiver = webhookReceiver();
  const emulator = new StripeEmulator({ webhookSecret: SECRET });
  let billing: BillingProvider;

  /** Pays a fresh checkout and returns the ids Stripe assigned. */
  async function paidSubscription(ref: string): Promise<{ sessionId: string; subscriptionId: string; eventId: string }> {
    const session = await billing.createCheckoutSession(checkoutInput(ref));
    const delivery = await emulator.completeCheckout(session.id);
    return { sessionId: session.id, subscriptionId: delivery.subscriptionId!, eventId: delivery.eventId };
  }

  beforeAll(async () => {
    await new Promise<void>((resolve) => receiver.server.listen(0, '127.0.0.1', resolve));
    await emulator.start();
    emulator.setWebhookUrl(`http://127.0.0.1:${(receiver.server.address() as AddressInfo).port}/v1/webhooks/stripe`);
    billing = createStripeBilling({ secretKey: 'sk_test_integration', webhookSecret: SECRET, apiUrl: emulator.url, maxRetries: 0, clock: systemClock });
  });
  afterAll(async () => {
    await emulator.stop();
    await new Promise((resolve) => receiver.server.close(resolve));
  });

  it('creates a subscription checkout session carrying every field mailplane sends', async () => {
    const input = checkoutInput('ref-fields');
    const session = await billing.createCheckoutSession(input);
    expect(session.id).toMatch(/^cs_test_/);
    expect(session.url).toBe(`${emulator.url}/pay/${session.id}`);

    const seen = emulator.sessions().find((s) => s.id === session.id)!;
    expect(seen).toMatchObject({
      mode: 'subscription',
      status: 'open',
      client_reference_id: 'ref-fields',
      customer_email: 'ref-fields@example.com',
      metadata: input.metadata,
      success_url: input.successUrl,
      cancel_url: input.cancelUrl,
      line_items: [{ price: 'price_mailplane_starter', quantity: 1 }],
      subscription_data: { metadata: input.metadata },
      // EU VAT: echoed in the session object as Stripe does.
      automatic_tax: { enabled: true, liability: null, status: 'requires_location_inputs' },
      billing_address_collection: 'required',
      tax_id_collection: { enabled: true, required: 'if_supported' },
    });
  });

  it("leaves tax off the session when mailplane is configured without it (Stripe's defaults)", async () => {
    const session = await billing.createCheckoutSession(
      checkoutInput('ref-no-tax', { tax: { automaticTax: false, taxIdCollection: false, billingAddressCollection: 'auto' } }),
    );
    expect(emulator.sessions().find((s) => s.id === session.id)).toMatchObject({
      automatic_tax: { enabled: false, status: null },
      billing_address_collection: 'auto',
      tax_id_collection: { enabled: false, required: 'never' },
    });
  });

  it('refuses tax parameters as Stripe does: customer_update without customer, automatic_tax without enabled, unknown values', async () => {
    const post = async (body: string) => {
      const res = await fetch(`${emulator.url}/v1/checkout/sessions`, {
        method: 'POST',
        headers: { authorization: 'Bearer sk_test_raw', 'content-type': 'application/x-www-form-urlencoded' },
        body: `mode=subscription&line_items[0][price]=price_mailplane_starter&success_url=https://x.test/ok&${body}`,
      });
      return { status: res.status, error: ((await res.json()) as { error?: { param?: string; code?: string } }).error };
    };
    expect(await post('customer_email=a@x.test&customer_update[address]=auto')).toMatchObject({ status: 400, error: { param: 'customer_update' } });
    expect(await post('automatic_tax[liability][type]=self')).toMatchObject({
      status: 400,
      error: { param: 'automatic_tax[enabled]', code: 'parameter_missing' },
    });
    expect(await post('automatic_tax[enabled]=yes')).toMatchObject({ status: 400, error: { param: 'automatic_tax[enabled]' } });
    expect(await post('billing_address_collection=always')).toMatchObject({ status: 400, error: { param: 'billing_address_collection' } });
    expect(await post('tax_id_collection[enabled]=true&tax_id_collection[required]=always')).toMatchObject({
      status: 400,
      error: { param: 'tax_id_collection[required]' },
    });
    // An existing customer: not with customer_email, must exist, and Checkout must be allowed to save what tax needs on it.
    const { subscriptionId } = await paidSubscription('ref-existing-customer');
    const customer = emulator.subscriptions().find((s) => s.id === subscriptionId)!.customer;
    expect(await post(`customer=${customer}&customer_email=a@x.test`)).toMatchObject({ status: 400, error: { param: 'customer_email' } });
    expect(await post('customer=cus_nobody')).toMatchObject({ status: 400, error: { code: 'resource_missing', param: 'customer' } });
    expect(await post(`customer=${customer}&automatic_tax[enabled]=true`)).toMatchObject({ status: 400, error: { param: 'customer_update[address]' } });
    expect(await post(`customer=${customer}&tax_id_collection[enabled]=true&customer_update[address]=auto`)).toMatchObject({
      status: 400,
      error: { param: 'customer_update[name]' },
    });
    expect(await post(`customer=${customer}&customer_update[name]=sometimes`)).toMatchObject({ status: 400, error: { param: 'customer_update[name]' } });
    expect(
      (await post(`customer=${customer}&automatic_tax[enabled]=true&tax_id_collection[enabled]=true&customer_update[address]=auto&customer_update[name]=auto`))
        .status,
    ).toBe(200);
  });

  it('asks for the billing address and a VAT ID on the hosted page, refuses a bad one, and records them on the paid session', async () => {
    const session = await billing.createCheckoutSession(checkoutInput('ref-vat'));
    const page = await (await fetch(session.url)).text();
    for (const field of ['name="country"', 'name="line1"', 'name="postal_code"', 'name="city"', 'name="vat_id"', 'Stripe Tax', '€19.00'])
      expect(page).toContain(field);
    const address = { method: 'card', name: 'ACME SAS', country: 'FR', line1: '5 avenue Anatole France', postal_code: '75007', city: 'Paris' };
    const noAddress = await fetch(session.url, { method: 'POST', body: new URLSearchParams({ method: 'card', country: 'FR' }) });
    expect(noAddress.status).toBe(400);
    const badVat = await fetch(session.url, { method: 'POST', body: new URLSearchParams({ ...address, vat_id: 'not a vat id' }) });
    expect([badVat.status, await badVat.text()]).toEqual([400, expect.stringContaining('tax ID is invalid')]);
    expect(emulator.sessions().find((s) => s.id === session.id)?.status).toBe('open');
    const paid = await fetch(session.url, { method: 'POST', body: new URLSearchParams({ ...address, vat_id: 'FR 40 303265045' }), redirect: 'manual' });
    expect(paid.status).toBe(303);
    expect(emulator.sessions().find((s) => s.id === session.id)).toMatchObject({
      status: 'complete',
      automatic_tax: { enabled: true, status: 'complete' },
      customer_details: {
        name: 'ACME SAS',
        address: { country: 'FR', line1: '5 avenue Anatole France', postal_code: '75007', city: 'Paris' },
        tax_ids: [{ type: 'eu_vat', value: 'FR40303265045' }],
      },
    });
  });

  it('returns the same session when the same checkout is retried', async () => {
    const first = await billing.createCheckoutSession(checkoutInput('ref-retry'));
    const second = await billing.createCheckoutSession(checkoutInput('ref-retry'));
    expect(second).toEqual(first);
    expect(emulator.sessions().filter((s) => s.client_reference_id === 'ref-retry')).toHaveLength(1);
  });

  it('refuses to reuse a checkout reference with other parameters (Stripe idempotency_error)', async () => {
    await billing.createCheckoutSession(checkoutInput('ref-changed'));
    const err = await rejection(billing.createCheckoutSession(checkoutInput('ref-changed', { priceId: 'price_other' })));
    expect(err).toBeInstanceOf(ProviderError);
    expect(err).toMatchObject({ provider: 'stripe', providerStatus: 400, retryable: false });
  });

  it('forgets an idempotency key after 24 hours, as Stripe does: the same key then creates a new session', async () => {
    const first = await billing.createCheckoutSession(checkoutInput('ref-day-old'));
    emulator.advanceTime(24 * 3600_000 + 1000);
    const second = await billing.createCheckoutSession(checkoutInput('ref-day-old'));
    expect(second.id).not.toBe(first.id);
  });

  it('refuses a checkout for a price the account does not have (400 resource_missing, not retryable)', async () => {
    const err = await rejection(billing.createCheckoutSession(checkoutInput('ref-no-price', { priceId: 'price_nobody_made' })));
    expect(err).toBeInstanceOf(ProviderError);
    expect(err).toMatchObject({ provider: 'stripe', providerStatus: 400, retryable: false });
    expect(String((err as ProviderError).detail)).toContain('No such price');
  });

  it('delivers checkout.session.completed, which the adapter verifies and normalises', async () => {
    const input = checkoutInput('ref-paid');
    const session = await billing.createCheckoutSession(input);
    const delivery = await emulator.completeCheckout(session.id);
    expect(delivery).toMatchObject({ type: 'checkout.session.completed', sessionId: session.id, status: 200 });

    const webhook = receiver.last(delivery.eventId);
    expect(webhook.signature).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    const event = await billing.parseWebhook(webhook.body, webhook.signature);
    const subscription = emulator.subscriptions().find((s) => s.id === delivery.subscriptionId)!;
    expect(event).toEqual({
      id: delivery.eventId,
      type: 'checkout.session.completed',
      sessionId: session.id,
      clientReferenceId: 'ref-paid',
      subscriptionId: subscription.id,
      customerId: subscription.customer,
      paymentStatus: 'paid',
      metadata: input.metadata,
    });
    expect(subscription).toMatchObject({ status: 'active', metadata: input.metadata });
    expect(subscription.customer).toMatch(/^cus_/);
  });

  it('completes a SEPA Direct Debit checkout unpaid, then sends async_payment_succeeded or _failed when it settles', async () => {
    for (const outcome of ['succeeded', 'failed'] as const) {
      const session = await billing.createCheckoutSession(checkoutInput(`ref-sepa-${outcome}`));
      const completed = await emulator.completeCheckout(session.id, 'sepa_debit');
      const first = await billing.parseWebhook(receiver.last(completed.eventId).body, receiver.last(completed.eventId).signature);
      expect(first).toMatchObject({ type: 'checkout.session.completed', paymentStatus: 'unpaid' });
      const settled = await emulator.settlePayment(session.id, outcome);
      const second = await billing.parseWebhook(receiver.last(settled.eventId).body, receiver.last(settled.eventId).signature);
      expect(second).toMatchObject({
        type: `checkout.session.async_payment_${outcome}`,
        sessionId: session.id,
        paymentStatus: outcome === 'succeeded' ? 'paid' : 'unpaid',
      });
      // Settling twice is refused, as there is nothing left to settle.
      await expect(emulator.settlePayment(session.id, outcome)).rejects.toBeTruthy();
    }
  });

  it('rejects tampered, wrongly signed, unsigned, stale, future-dated and unparsable webhooks with a ValidationError', async () => {
    const { eventId } = await paidSubscription('ref-tamper');
    const { body, signature } = receiver.last(eventId);
    const now = Math.floor(Date.now() / 1000);
    const other = createStripeBilling({ secretKey: 'sk_test_x', webhookSecret: 'whsec_someone_else', apiUrl: emulator.url, clock: systemClock });

    const attempts: Promise<unknown>[] = [
      billing.parseWebhook(body.replace('ref-tamper', 'ref-evil'), signature),
      other.parseWebhook(body, signature),
      billing.parseWebhook(body, undefined),
      billing.parseWebhook(body, stripeSignature(SECRET, body, now - 3600)),
      // The SDK only checks the past: an hour ahead is refused by the adapter, beyond the tolerance either way.
      billing.parseWebhook(body, stripeSignature(SECRET, body, now + 3600)),
      billing.parseWebhook(body, stripeSignature(SECRET, body, now + 301 + 5)),
      billing.parseWebhook('{not json', stripeSignature(SECRET, '{not json', now)),
    ];
    for (const attempt of attempts) expect(await rejection(attempt)).toBeInstanceOf(ValidationError);
    // The untouched delivery still passes: the failures above are about what was changed.
    await expect(billing.parseWebhook(body, signature)).resolves.toMatchObject({ id: eventId });
    // A sender's clock a little ahead, within the tolerance, is not a forgery.
    await expect(billing.parseWebhook(body, stripeSignature(SECRET, body, now + 60))).resolves.toMatchObject({ id: eventId });
  });

  it("judges a signature's age by the clock it is given, in both directions", async () => {
    const { eventId } = await paidSubscription('ref-clock');
    const { body, signature } = receiver.last(eventId);
    const signedAt = Date.now();
    const at = (ms: number) =>
      createStripeBilling({ secretKey: 'sk_test_x', webhookSecret: SECRET, apiUrl: emulator.url, clock: { now: () => ms, sleep: async () => {} } });
    await expect(at(signedAt).parseWebhook(body, signature)).resolves.toMatchObject({ id: eventId });
    // An hour later by the product's clock the same delivery is stale (the SDK's check, given our time) ...
    expect(await rejection(at(signedAt + 3_600_000).parseWebhook(body, signature))).toBeInstanceOf(ValidationError);
    // ... and an hour earlier it is dated in the future (the adapter's own check).
    expect(await rejection(at(signedAt - 3_600_000).parseWebhook(body, signature))).toBeInstanceOf(ValidationError);
  });

  it('normalises subscription updates and cancellations with their metadata', async () => {
    const { subscriptionId } = await paidSubscription('ref-lifecycle');
    const metadata = checkoutInput('ref-lifecycle').metadata;

    const failed = await emulator.failPayment(subscriptionId);
    const updated = receiver.last(failed.eventId);
    await expect(billing.parseWebhook(updated.body, updated.signature)).resolves.toEqual({
      id: failed.eventId,
      type: 'customer.subscription.updated',
      subscriptionId,
      status: 'past_due',
      metadata,
    });

    const cancelled = await emulator.cancelSubscription(subscriptionId);
    const deleted = receiver.last(cancelled.eventId);
    await expect(billing.parseWebhook(deleted.body, deleted.signature)).resolves.toEqual({
      id: cancelled.eventId,
      type: 'customer.subscription.deleted',
      subscriptionId,
      status: 'canceled',
      metadata,
    });
  });

  it('cancels through the API, Stripe sends customer.subscription.deleted, and cancelling again succeeds', async () => {
    const { subscriptionId } = await paidSubscription('ref-cancel');
    await billing.cancelSubscription(subscriptionId);
    expect(emulator.subscriptions().find((s) => s.id === subscriptionId)?.status).toBe('canceled');
    const webhook = await receiver.waitFor('customer.subscription.deleted', subscriptionId);
    await expect(billing.parseWebhook(webhook.body, webhook.signature)).resolves.toMatchObject({ status: 'canceled' });

    // Stripe itself answers the second cancel with 404 resource_missing; the adapter treats that as done.
    const raw = await fetch(`${emulator.url}/v1/subscriptions/${subscriptionId}`, { method: 'DELETE', headers: { authorization: 'Bearer sk_test_raw' } });
    expect(raw.status).toBe(404);
    expect(await raw.json()).toMatchObject({ error: { type: 'invalid_request_error', code: 'resource_missing' } });
    await expect(billing.cancelSubscription(subscriptionId)).resolves.toBeUndefined();
  });

  it('deletes a customer (its live subscription is cancelled with it), and deleting again succeeds', async () => {
    const { subscriptionId } = await paidSubscription('ref-erase');
    const customerId = emulator.subscriptions().find((s) => s.id === subscriptionId)!.customer as string;
    expect(emulator.customers().map((c) => c.id)).toContain(customerId);
    await billing.deleteCustomer(customerId);
    expect(emulator.customers().map((c) => c.id)).not.toContain(customerId);
    expect(emulator.subscriptions().find((s) => s.id === subscriptionId)?.status).toBe('canceled');
    await receiver.waitFor('customer.subscription.deleted', subscriptionId);
    await expect(billing.deleteCustomer(customerId)).resolves.toBeUndefined();
    await expect(billing.deleteCustomer('cus_doesnotexist')).resolves.toBeUndefined();
  });

  it('cancels at the period end and takes it back, each sent as customer.subscription.updated, then ends the period on the test clock', async () => {
    const { subscriptionId } = await paidSubscription('ref-period-end');
    const cancelled = await billing.setCancelAtPeriodEnd(subscriptionId, true);
    const sub = emulator.subscriptions().find((s) => s.id === subscriptionId)!;
    expect([cancelled.status, cancelled.cancelAtPeriodEnd, cancelled.currentPeriodEnd?.getTime()]).toEqual([
      'active',
      true,
      sub.items.data[0]!.current_period_end * 1000,
    ]);
    expect(sub.cancel_at).toBe(sub.items.data[0]!.current_period_end);
    const updated = JSON.parse((await receiver.waitFor('customer.subscription.updated', subscriptionId)).body);
    expect(updated.data.previous_attributes).toMatchObject({ cancel_at_period_end: false, cancel_at: null });
    expect((await billing.setCancelAtPeriodEnd(subscriptionId, false)).cancelAtPeriodEnd).toBe(false);
    // Not cancelled, the period's end renews it: a new period, still active.
    const periodEnd = sub.items.data[0]!.current_period_end;
    const renewed = await (await fetch(`${emulator.url}/__sandbox/subscriptions/${subscriptionId}/end-period`, { method: 'POST' })).json();
    expect(renewed).toMatchObject({ type: 'customer.subscription.updated' });
    expect((await billing.getSubscription(subscriptionId))?.currentPeriodEnd?.getTime()).toBe((periodEnd + 30 * 24 * 3600) * 1000);
    await billing.setCancelAtPeriodEnd(subscriptionId, true);
    const ended = await emulator.advanceToPeriodEnd(subscriptionId);
    expect(ended.type).toBe('customer.subscription.deleted');
    expect(JSON.parse(ended.body).data.object.cancellation_details.reason).toBe('cancellation_requested');
    // Stripe: a canceled subscription takes no further change but its metadata.
    const refused = await rejection(billing.setCancelAtPeriodEnd(subscriptionId, false));
    expect(refused).toBeInstanceOf(ProviderError);
    expect((refused as ProviderError).providerStatus).toBe(400);
    expect(String((refused as ProviderError).detail)).toContain('A canceled subscription can only update its cancellation_details and metadata');
  });

  it('changes the price of the existing item with prorations for the rest of the period, and refuses an unknown price', async () => {
    const { subscriptionId } = await paidSubscription('ref-price');
    const itemId = emulator.subscriptions().find((s) => s.id === subscriptionId)!.items.data[0]!.id;
    const changed = await billing.changePrice(subscriptionId, 'price_mailplane_business', 'create_prorations');
    expect(changed.priceId).toBe('price_mailplane_business');
    const items = emulator.subscriptions().find((s) => s.id === subscriptionId)!.items.data;
    expect(items.map((i) => [i.id, i.price.id])).toEqual([[itemId, 'price_mailplane_business']]);
    // Just paid: nearly the whole period is left, so nearly the whole difference of the prices (1900 → 4900).
    const prorations = emulator
      .pendingInvoiceItems()
      .filter((i) => i.subscription === subscriptionId)
      .map((i) => i.amount);
    expect(prorations[0]).toBeLessThanOrEqual(-1899);
    expect(prorations[1]).toBeGreaterThanOrEqual(4899);
    const event = JSON.parse((await receiver.waitFor('customer.subscription.updated', subscriptionId)).body);
    expect(event.data.previous_attributes.items.data[0].price.id).toBe('price_mailplane_starter');
    const unknown = await rejection(billing.changePrice(subscriptionId, 'price_gold', 'create_prorations'));
    expect(unknown).toBeInstanceOf(ProviderError);
    expect([(unknown as ProviderError).providerStatus, (unknown as ProviderError).retryable]).toEqual([400, false]);
    // none: the new price from now, nothing prorated.
    await billing.changePrice(subscriptionId, 'price_mailplane_starter', 'none');
    expect(emulator.pendingInvoiceItems().filter((i) => i.subscription === subscriptionId)).toHaveLength(2);
  });

  it('treats cancelling an unknown subscription as done', async () => {
    await expect(billing.cancelSubscription('sub_doesnotexist')).resolves.toBeUndefined();
  });

  it('resends an event with the same id and body, still accepted by the adapter', async () => {
    const { eventId } = await paidSubscription('ref-resend');
    const original = receiver.last(eventId);
    const again = await emulator.resend(eventId);
    expect(again).toMatchObject({ eventId, type: 'checkout.session.completed', status: 200, body: original.body });
    expect(receiver.received.filter((r) => r.body === original.body)).toHaveLength(2);
    const resent = receiver.last(eventId);
    await expect(billing.parseWebhook(resent.body, resent.signature)).resolves.toMatchObject({ id: eventId });
  });

  it('records a delivery to an unreachable receiver with status 0', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const session = await billing.createCheckoutSession(checkoutInput('ref-unreachable'));
    const working = `http://127.0.0.1:${(receiver.server.address() as AddressInfo).port}/v1/webhooks/stripe`;
    emulator.setWebhookUrl(`http://127.0.0.1:${port}/v1/webhooks/stripe`);
    try {
      const delivery = await emulator.completeCheckout(session.id);
      expect(delivery.status).toBe(0);
      expect(emulator.deliveries().at(-1)).toMatchObject({ eventId: delivery.eventId, status: 0 });
    } finally {
      emulator.setWebhookUrl(working);
    }
  });

  it('lets a person pay on the hosted checkout page', async () => {
    const session = await billing.createCheckoutSession(checkoutInput('ref-browser'));
    const page = await fetch(session.url);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain(`action="/pay/${session.id}"`);

    const paid = await fetch(session.url, {
      method: 'POST',
      body: new URLSearchParams({ method: 'card', country: 'DE', line1: 'Unter den Linden 1', postal_code: '10117', city: 'Berlin' }),
      redirect: 'manual',
    });
    // Stripe's page sends the buyer straight back to the success URL.
    expect([paid.status, paid.headers.get('location')]).toEqual([303, checkoutInput('ref-browser').successUrl]);
    // Opened again, the link says it is paid and leads back too.
    const again = await (await fetch(session.url)).text();
    expect(again).toContain('Already paid');
    expect(again).toContain(`href="${checkoutInput('ref-browser').successUrl.replaceAll('&', '&amp;')}"`);
    expect(emulator.sessions().find((s) => s.id === session.id)?.status).toBe('complete');
    expect(emulator.deliveries().some((d) => d.sessionId === session.id && d.status === 200)).toBe(true);
  });

  it("lets a person fail a renewal, end Stripe's retries and pay the open invoice in the customer portal", async () => {
    const { subscriptionId } = await paidSubscription('ref-portal');
    const manage = `${emulator.url}/manage/subscriptions/${subscriptionId}`;
    await fetch(`${manage}/fail-payment`, { method: 'POST' });
    const pastDue = await (await fetch(manage)).text();
    expect(pastDue).toContain('Retries end: mark it unpaid');
    expect(await (await fetch(`${manage}/retries-end/unpaid`, { method: 'POST' })).text()).toContain('<strong>unpaid</strong>');
    await expect(billing.getSubscription(subscriptionId)).resolves.toMatchObject({ status: 'unpaid', cancelAtPeriodEnd: false });

    // mailplane's way in: a portal session for the customer, then the hosted portal page.
    const customerId = emulator.subscriptions().find((s) => s.id === subscriptionId)!.customer;
    const portal = await billing.createPortalSession({ customerId, returnUrl: 'https://mailplane.test/w/ws-1/billing' });
    const page = await (await fetch(portal.url)).text();
    expect(page).toContain('€19.00</strong> due');
    const pay = `${portal.url}/subscriptions/${subscriptionId}/pay`;
    expect((await fetch(pay, { method: 'POST', body: new URLSearchParams({ card: '42' }) })).status).toBe(400);
    expect((await fetch(pay, { method: 'POST', body: new URLSearchParams({ card: '4242 4242 4242 4242' }) })).status).toBe(200);
    const current = await billing.getSubscription(subscriptionId);
    expect(current).toMatchObject({ status: 'active', customerId });
    expect(current!.currentPeriodEnd!.getTime()).toBeGreaterThan(Date.now());
    await expect(billing.getSubscription('sub_nobody')).resolves.toBeNull();
    // Another customer's portal session does not reach this subscription; an unknown customer gets none.
    const other = await billing.createPortalSession({
      customerId: emulator.subscriptions().find((s) => s.customer !== customerId)!.customer,
      returnUrl: 'https://x.test',
    });
    expect((await fetch(`${other.url}/subscriptions/${subscriptionId}/cancel`, { method: 'POST' })).status).toBe(404);
    expect(await rejection(billing.createPortalSession({ customerId: 'cus_nobody', returnUrl: 'https://x.test' }))).toBeInstanceOf(ProviderError);
  });

  it('answers injected 429s in Stripe’s format, with Retry-After reaching the caller', async () => {
    const put = await fetch(`${emulator.url}/__sandbox/faults`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ rateLimitRate: 1, retryAfterSeconds: 3 }),
    });
    expect(put.status).toBe(200);
    try {
      const err = await rejection(billing.createCheckoutSession(checkoutInput('ref-throttled')));
      expect(err).toBeInstanceOf(ProviderError);
      expect(err).toMatchObject({ provider: 'stripe', providerStatus: 429, retryable: true, retryAfterMs: 3_000 });
      // The inspection API is never faulted, so a test can always look inside.
      const state = (await (await fetch(`${emulator.url}/__sandbox/state`)).json()) as { faults: unknown; sessions: { client_reference_id: string }[] };
      expect(state.faults).toEqual({ rateLimitRate: 1, retryAfterSeconds: 3 });
      expect(state.sessions.some((s) => s.client_reference_id === 'ref-throttled')).toBe(false);
    } finally {
      emulator.faults.set({});
    }
  });

  it('maps a refused API key to a non-retryable ProviderError', async () => {
    const wrongKey = createStripeBilling({ secretKey: 'sk_live_not_accepted', webhookSecret: SECRET, apiUrl: emulator.url, maxRetries: 0, clock: systemClock });
    const err = await rejection(wrongKey.createCheckoutSession(checkoutInput('ref-badkey')));
    expect(err).toBeInstanceOf(ProviderError);
    expect(err).toMatchObject({ provider: 'stripe', providerStatus: 401, retryable: false });
  });
});
