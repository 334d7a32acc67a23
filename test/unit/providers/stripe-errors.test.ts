/**
 * How Stripe failures reach the callers: the real SDK against msw.
 */
import { systemClock } from '../../../src/clock.ts';
import { delay, http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ProviderError } from '../../../src/errors.ts';
import type { CheckoutInput } from '../../../src/providers/billing/interface.ts';
import { createStripeBilling } from '../../../src/providers/billing/stripe.ts';

const ORIGIN = 'https://api.stripe.test';
const SESSIONS = `${ORIGIN}/v1/checkout/sessions`;
const server = setupServer();

const input: CheckoutInput = {
  priceId: 'price_1',
  customerEmail: 'a@example.com',
  clientReferenceId: 'ref-1',
  metadata: { plan: 'starter' },
  successUrl: 'https://mailplane.test/ok',
  cancelUrl: 'https://mailplane.test/cancel',
  tax: { automaticTax: true, taxIdCollection: true, billingAddressCollection: 'required' },
};

function stripeError(type: string, message: string, code?: string) {
  return { error: { type, message, ...(code ? { code } : {}) } };
}

function billing(extra: { maxRetries?: number; timeoutMs?: number } = {}) {
  return createStripeBilling({ secretKey: 'sk_test_unit', webhookSecret: 'whsec_unit', apiUrl: ORIGIN, maxRetries: 0, clock: systemClock, ...extra });
}

async function failure(promise: Promise<unknown>): Promise<ProviderError> {
  const err = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ProviderError);
  return err as ProviderError;
}

beforeAll(() => server.listen({ onUnhandledFrame: 'error' }));
afterEach(() => server.resetHandlers());
afterAll(() => server.close());

describe('Stripe error mapping', () => {
  it('maps a 429 to a retryable error carrying Retry-After', async () => {
    server.use(
      http.post(SESSIONS, () =>
        HttpResponse.json(stripeError('invalid_request_error', 'Too many requests', 'rate_limit'), { status: 429, headers: { 'Retry-After': '7' } }),
      ),
    );
    const err = await failure(billing().createCheckoutSession(input));
    expect(err).toMatchObject({ provider: 'stripe', providerStatus: 429, retryable: true, retryAfterMs: 7_000 });
    expect(err.detail).toContain('rate_limit');
  });

  it.each([500, 503])('maps a %i to a retryable error', async (status) => {
    server.use(http.post(SESSIONS, () => HttpResponse.json(stripeError('api_error', 'Something went wrong'), { status })));
    const err = await failure(billing().createCheckoutSession(input));
    expect(err).toMatchObject({ provider: 'stripe', providerStatus: status, retryable: true });
  });

  it.each([
    [400, 'invalid_request_error', 'No such price: price_1', 'resource_missing'],
    [402, 'card_error', 'Your card was declined.', 'card_declined'],
    [403, 'invalid_request_error', 'The provided key does not have the required permissions', undefined],
  ])('maps a %i to a non-retryable error with Stripe’s message', async (status, type, message, code) => {
    server.use(http.post(SESSIONS, () => HttpResponse.json(stripeError(type, message, code), { status })));
    const err = await failure(billing().createCheckoutSession(input));
    expect(err).toMatchObject({ provider: 'stripe', providerStatus: status, retryable: false });
    expect(err.detail).toContain(message);
  });

  it('maps a network failure to a retryable error', async () => {
    server.use(http.post(SESSIONS, () => HttpResponse.error()));
    const err = await failure(billing().createCheckoutSession(input));
    expect(err).toMatchObject({ provider: 'stripe', retryable: true, code: 'provider_unreachable', providerStatus: undefined });
  });

  it('maps a request timeout to a retryable error', async () => {
    server.use(
      http.delete(`${ORIGIN}/v1/subscriptions/sub_slow`, async () => {
        await delay('infinite');
        return HttpResponse.json({});
      }),
    );
    const err = await failure(billing({ timeoutMs: 50 }).cancelSubscription('sub_slow'));
    expect(err).toMatchObject({ provider: 'stripe', retryable: true, code: 'provider_timeout' });
  });

  it('does not treat a 404 other than resource_missing as a finished cancel', async () => {
    server.use(
      http.delete(`${ORIGIN}/v1/subscriptions/sub_1`, () =>
        HttpResponse.json(stripeError('invalid_request_error', 'Unrecognized request URL'), { status: 404 }),
      ),
    );
    const err = await failure(billing().cancelSubscription('sub_1'));
    expect(err).toMatchObject({ providerStatus: 404, retryable: false });
  });

  it('sends the checkout with an idempotency key derived from the checkout reference', async () => {
    let key: string | null = null;
    let body = '';
    server.use(
      http.post(SESSIONS, async ({ request }) => {
        key = request.headers.get('idempotency-key');
        body = await request.text();
        return HttpResponse.json({ id: 'cs_test_1', object: 'checkout.session', url: 'https://checkout.stripe.test/c/cs_test_1' });
      }),
    );
    await expect(billing().createCheckoutSession(input)).resolves.toEqual({ id: 'cs_test_1', url: 'https://checkout.stripe.test/c/cs_test_1' });
    expect(key).toBe('mailplane-checkout-ref-1');
    const params = new URLSearchParams(body);
    expect(params.get('mode')).toBe('subscription');
    expect(params.get('subscription_data[metadata][plan]')).toBe('starter');
  });
});

describe('refunding the latest invoice', () => {
  const SUBSCRIPTION = `${ORIGIN}/v1/subscriptions/sub_1`;
  const REFUNDS = `${ORIGIN}/v1/refunds`;

  /** The subscription with its latest invoice and that invoice's payments expanded; `seen` gets each request's URL. */
  function subscriptionWith(payments: Array<{ status: string; amount_paid: number | null; payment_intent: string }>, seen?: (url: string) => void) {
    return http.get(SUBSCRIPTION, ({ request }) => {
      seen?.(request.url);
      return HttpResponse.json({
        id: 'sub_1',
        object: 'subscription',
        status: 'canceled',
        latest_invoice: {
          id: 'in_1',
          object: 'invoice',
          currency: 'eur',
          payments: {
            object: 'list',
            has_more: false,
            data: payments.map((p) => ({
              object: 'invoice_payment',
              status: p.status,
              amount_paid: p.amount_paid,
              payment: { type: 'payment_intent', payment_intent: p.payment_intent },
            })),
          },
        },
      });
    });
  }

  it('asks for the invoice payments and refunds each under a key of its own', async () => {
    let query = '';
    let key: string | null = null;
    let body = '';
    server.use(
      subscriptionWith([{ status: 'paid', amount_paid: 1900, payment_intent: 'pi_1' }], (url) => (query = decodeURIComponent(new URL(url).search))),
      http.post(REFUNDS, async ({ request }) => {
        key = request.headers.get('idempotency-key');
        body = await request.text();
        return HttpResponse.json({ id: 're_1', object: 'refund', amount: 1900, currency: 'eur', payment_intent: 'pi_1', status: 'succeeded' });
      }),
    );
    await expect(billing().refundLatestInvoice('sub_1', { checkoutId: 'c1' })).resolves.toEqual({
      amountRefunded: 1900,
      currency: 'eur',
      refundIds: ['re_1'],
      paymentSettling: false,
    });
    expect(query).toContain('expand[0]=latest_invoice.payments');
    expect(key).toBe('mailplane-refund-pi_1');
    expect(Object.fromEntries(new URLSearchParams(body))).toMatchObject({ payment_intent: 'pi_1', reason: 'duplicate', 'metadata[checkoutId]': 'c1' });
  });

  it('counts a charge Stripe says is already refunded as refunded', async () => {
    server.use(
      subscriptionWith([{ status: 'paid', amount_paid: 1900, payment_intent: 'pi_1' }]),
      http.post(REFUNDS, () =>
        HttpResponse.json(stripeError('invalid_request_error', 'Charge ch_1 has already been refunded.', 'charge_already_refunded'), { status: 400 }),
      ),
    );
    await expect(billing().refundLatestInvoice('sub_1', {})).resolves.toMatchObject({ amountRefunded: 1900, refundIds: [] });
  });

  it('fails retryably when Stripe answers 5xx, and for good on another refusal', async () => {
    server.use(
      subscriptionWith([{ status: 'paid', amount_paid: 1900, payment_intent: 'pi_1' }]),
      http.post(REFUNDS, () => HttpResponse.json(stripeError('api_error', 'Something went wrong'), { status: 500 })),
    );
    expect(await failure(billing().refundLatestInvoice('sub_1', {}))).toMatchObject({ providerStatus: 500, retryable: true });
    server.use(
      http.post(REFUNDS, () =>
        HttpResponse.json(stripeError('invalid_request_error', 'Refund amount is greater than unrefunded amount on charge'), { status: 400 }),
      ),
    );
    expect(await failure(billing().refundLatestInvoice('sub_1', {}))).toMatchObject({ providerStatus: 400, retryable: false });
  });

  it('refunds nothing while a payment is still settling, and says so', async () => {
    server.use(subscriptionWith([{ status: 'open', amount_paid: null, payment_intent: 'pi_1' }]));
    await expect(billing().refundLatestInvoice('sub_1', {})).resolves.toEqual({ amountRefunded: 0, currency: 'eur', refundIds: [], paymentSettling: true });
  });
});
