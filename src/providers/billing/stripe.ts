/**
 * BillingProvider on the official Stripe SDK. The same code runs against
 * api.stripe.com and against the sandbox emulator (`apiUrl`).
 */
import type { Clock } from '../../clock.ts';
import Stripe from 'stripe';
import { ProviderError, ValidationError } from '../../errors.ts';
import type {
  BillingEvent,
  BillingProvider,
  CheckoutInput,
  CheckoutSession,
  ProrationBehavior,
  RefundOutcome,
  SubscriptionState,
  SubscriptionStatus,
} from './interface.ts';
import { normalizeStripeEvent } from './stripe-events.ts';
import { PROVIDER, stripeCall, stripeCode } from './stripe-errors.ts';

export interface StripeBillingOptions {
  secretKey: string;
  webhookSecret: string;
  /** API origin, e.g. the emulator's http://127.0.0.1:1234; split into the SDK's host, port and protocol. */
  apiUrl?: string;
  fetch?: typeof fetch;
  /**
   * Retries inside the SDK for one call (it retries connection errors, 409 and
   * 5xx). Kept low for the same reason as the Cloudflare adapter: the caller
   * (the checkout request, the provisioning runner) decides about retrying
   * with the retryable flag and Retry-After of our ProviderError.
   */
  maxRetries?: number;
  /** Per-request timeout (SDK default is 80 s; the customer is waiting on checkout). */
  timeoutMs?: number;
  /** "Now" for the webhook signature's age, both ways (the composition root's clock). */
  clock: Clock;
}

type Endpoint = { host: string; port: number; protocol: 'http' | 'https' };

function endpoint(apiUrl: string): Endpoint {
  const url = new URL(apiUrl);
  const protocol = url.protocol === 'http:' ? 'http' : 'https';
  const port = url.port ? Number(url.port) : protocol === 'http' ? 80 : 443;
  return { host: url.hostname, port, protocol };
}

/** How far a signature's timestamp may be from now, either way (the SDK's default, in seconds). */
export const WEBHOOK_TOLERANCE_SECONDS = 300;

const idOf = (value: string | { id: string }): string => (typeof value === 'string' ? value : value.id);

/** `t=` of a `Stripe-Signature` header (`t=…,v1=…`), or null when there is none to read. */
function signatureTimestamp(header: string | undefined): number | null {
  const t = header
    ?.split(',')
    .map((part) => part.trim().split('='))
    .find(([k]) => k === 't')?.[1];
  return t !== undefined && /^\d{1,12}$/.test(t) ? Number(t) : null;
}

export function createStripeBilling(opts: StripeBillingOptions): BillingProvider {
  const { clock } = opts;
  const stripe = new Stripe(opts.secretKey, {
    ...(opts.apiUrl ? endpoint(opts.apiUrl) : {}),
    // Looked up per call so an interceptor installed after construction (msw in tests) is honoured.
    httpClient: Stripe.createFetchHttpClient(opts.fetch ?? ((input, init) => globalThis.fetch(input, init))),
    maxNetworkRetries: opts.maxRetries ?? 1,
    ...(opts.timeoutMs !== undefined ? { timeout: opts.timeoutMs } : {}),
    // No request-timing header sent back to Stripe about earlier calls.
    telemetry: false,
  });

  async function createCheckoutSession(input: CheckoutInput): Promise<CheckoutSession> {
    const create = (customer: string | undefined, keySuffix = '') =>
      stripeCall(() =>
        stripe.checkout.sessions.create(
          {
            mode: 'subscription',
            line_items: [{ price: input.priceId, quantity: 1 }],
            client_reference_id: input.clientReferenceId,
            // An existing customer keeps its address and VAT number; customer_update lets Checkout save
            // what is entered now on it (Stripe requires address for automatic tax, name for tax IDs).
            ...(customer ? { customer, customer_update: { address: 'auto' as const, name: 'auto' as const } } : { customer_email: input.customerEmail }),
            metadata: input.metadata,
            // Session metadata stays on the session; subscription events only carry this copy.
            subscription_data: { metadata: input.metadata },
            success_url: input.successUrl,
            cancel_url: input.cancelUrl,
            // Stripe Tax works out VAT from the address; a business's VAT ID (if_supported: the
            // buyer may leave it empty as a consumer) goes on the customer and its invoices.
            automatic_tax: { enabled: input.tax.automaticTax },
            billing_address_collection: input.tax.billingAddressCollection,
            ...(input.tax.taxIdCollection ? { tax_id_collection: { enabled: true, required: 'if_supported' as const } } : {}),
          },
          // One pending checkout → one Stripe session, even when the request is retried.
          { idempotencyKey: `mailplane-checkout-${input.clientReferenceId}${keySuffix}` },
        ),
      );
    let session;
    try {
      session = await create(input.customerId);
    } catch (err) {
      // A customer removed at Stripe meanwhile (by hand): the checkout creates a new one instead.
      if (!input.customerId || stripeCode(err) !== 'resource_missing') throw err;
      session = await create(undefined, '-new-customer');
    }
    if (!session.url) {
      throw new ProviderError({ provider: PROVIDER, detail: `checkout session ${session.id} came back without a URL`, retryable: false });
    }
    return { id: session.id, url: session.url };
  }

  async function parseWebhook(rawBody: string, signatureHeader: string | undefined): Promise<BillingEvent> {
    // The library refuses a timestamp older than the tolerance but not one in the future: a
    // signature dated tomorrow (a leaked one, or a signer with a wrong clock) would stay
    // replayable for as long. Refused either way, as Stripe's own docs describe the check.
    const signedAt = signatureTimestamp(signatureHeader);
    const receivedAt = clock.now(); // milliseconds, as the SDK's own check takes it
    if (signedAt !== null && signedAt - Math.floor(receivedAt / 1000) > WEBHOOK_TOLERANCE_SECONDS) {
      throw new ValidationError('Stripe webhook rejected: timestamp is in the future, beyond the tolerance');
    }
    let event: unknown;
    try {
      event = await stripe.webhooks.constructEventAsync(rawBody, signatureHeader ?? '', opts.webhookSecret, WEBHOOK_TOLERANCE_SECONDS, undefined, receivedAt);
    } catch (err) {
      // Signature mismatch, stale timestamp, missing header or a body that is not JSON:
      // all mean "not a webhook from Stripe we can trust", never a reason to retry.
      const why = err instanceof Error ? err.message : String(err);
      throw new ValidationError(`Stripe webhook rejected: ${why}`);
    }
    return normalizeStripeEvent(event);
  }

  /** A removal Stripe answers 404 resource_missing is already done: the object is gone, or never was. */
  async function remove(call: () => Promise<unknown>): Promise<void> {
    try {
      await stripeCall(call);
    } catch (err) {
      if (stripeCode(err) !== 'resource_missing') throw err;
    }
  }

  // Stripe answers resource_missing for an unknown subscription and for one already cancelled: either way it no longer bills.
  const cancelSubscription = (subscriptionId: string) => remove(() => stripe.subscriptions.cancel(subscriptionId));
  const deleteCustomer = (customerId: string) => remove(() => stripe.customers.del(customerId));

  /** An expired session can no longer be paid; one already completed or expired is left as it is. */
  async function expireCheckoutSession(sessionId: string): Promise<void> {
    try {
      await stripeCall(() => stripe.checkout.sessions.expire(sessionId));
    } catch (err) {
      const code = stripeCode(err);
      if (code === 'resource_missing' || (err instanceof ProviderError && err.providerStatus === 400)) return;
      throw err;
    }
  }

  /**
   * Since API version 2025-03-31.basil the invoice lists its payments (`payments`, sent only
   * when expanded) instead of naming a payment_intent or charge. Each settled one is refunded
   * under an idempotency key of its own, so a retry within Stripe's 24 hours gets the same
   * refund back; after that Stripe answers charge_already_refunded, which is the same outcome.
   */
  async function refundLatestInvoice(subscriptionId: string, metadata: Record<string, string>): Promise<RefundOutcome> {
    const sub = await stripeCall(() => stripe.subscriptions.retrieve(subscriptionId, { expand: ['latest_invoice.payments'] }));
    const invoice = typeof sub.latest_invoice === 'object' ? sub.latest_invoice : null;
    const outcome: RefundOutcome = { amountRefunded: 0, currency: invoice?.currency ?? null, refundIds: [], paymentSettling: false };
    for (const paid of invoice?.payments?.data ?? []) {
      if (paid.status === 'open') outcome.paymentSettling = true;
      if (paid.status !== 'paid') continue;
      const target = paid.payment.payment_intent
        ? { payment_intent: idOf(paid.payment.payment_intent) }
        : paid.payment.charge
          ? { charge: idOf(paid.payment.charge) }
          : null;
      // A payment_record is money received outside Stripe: there is nothing to refund through the API.
      if (!target) continue;
      try {
        const refund = await stripeCall(() =>
          stripe.refunds.create({ ...target, reason: 'duplicate', metadata }, { idempotencyKey: `mailplane-refund-${target.payment_intent ?? target.charge}` }),
        );
        outcome.amountRefunded += refund.amount;
        outcome.refundIds.push(refund.id);
      } catch (err) {
        if (stripeCode(err) !== 'charge_already_refunded') throw err;
        outcome.amountRefunded += paid.amount_paid ?? 0;
      }
    }
    return outcome;
  }

  /** Since 2025-03-31.basil the period lives on each item, not on the subscription. */
  function stateOf(sub: Stripe.Subscription): SubscriptionState {
    const ends = sub.items.data.map((item) => item.current_period_end).filter((t): t is number => typeof t === 'number');
    return {
      id: sub.id,
      status: sub.status as SubscriptionStatus,
      customerId: idOf(sub.customer),
      currentPeriodEnd: ends.length > 0 ? new Date(Math.min(...ends) * 1000) : null,
      cancelAtPeriodEnd: sub.cancel_at_period_end,
      priceId: sub.items.data[0]?.price.id ?? null,
    };
  }

  async function getSubscription(subscriptionId: string): Promise<SubscriptionState | null> {
    try {
      return stateOf(await stripeCall(() => stripe.subscriptions.retrieve(subscriptionId)));
    } catch (err) {
      if (stripeCode(err) === 'resource_missing') return null;
      throw err;
    }
  }

  async function setCancelAtPeriodEnd(subscriptionId: string, cancel: boolean): Promise<SubscriptionState> {
    return stateOf(await stripeCall(() => stripe.subscriptions.update(subscriptionId, { cancel_at_period_end: cancel })));
  }

  /**
   * Stripe's way to change a price: the existing item (by its id) gets the new price, so the
   * subscription keeps one item; without the item id Stripe would add a second item and bill both.
   */
  async function changePrice(subscriptionId: string, priceId: string, proration: ProrationBehavior): Promise<SubscriptionState> {
    const sub = await stripeCall(() => stripe.subscriptions.retrieve(subscriptionId));
    const item = sub.items.data[0];
    if (!item) throw new ProviderError({ provider: PROVIDER, detail: `subscription ${subscriptionId} has no item to change`, retryable: false });
    if (item.price.id === priceId) return stateOf(sub);
    return stateOf(
      await stripeCall(() =>
        stripe.subscriptions.update(
          subscriptionId,
          // No idempotency key of ours: the same key for a change back and forth within Stripe's 24 hours
          // would replay the first answer; the SDK keys its own retries of this one request.
          { items: [{ id: item.id, price: priceId }], proration_behavior: proration },
        ),
      ),
    );
  }

  async function createPortalSession(input: { customerId: string; returnUrl: string }): Promise<{ url: string }> {
    const session = await stripeCall(() => stripe.billingPortal.sessions.create({ customer: input.customerId, return_url: input.returnUrl }));
    return { url: session.url };
  }

  return {
    createCheckoutSession,
    parseWebhook,
    cancelSubscription,
    deleteCustomer,
    expireCheckoutSession,
    refundLatestInvoice,
    getSubscription,
    createPortalSession,
    setCancelAtPeriodEnd,
    changePrice,
  };
}
