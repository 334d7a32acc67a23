/**
 * Billing (Stripe). Webhook events are normalised to the few kinds mailplane
 * acts on; anything else is `other` and only recorded.
 */
export interface CheckoutInput {
  priceId: string;
  customerEmail: string;
  /**
   * The workspace's Stripe customer from an earlier checkout: the new subscription joins it, so one
   * portal session shows them all and the address and VAT number entered before are offered again.
   */
  customerId?: string | undefined;
  /** mailplane's pending checkout id; comes back on the completed session. */
  clientReferenceId: string;
  /** Copied to the session and to subscription_data so later subscription events carry it. */
  metadata: Record<string, string>;
  successUrl: string;
  cancelUrl: string;
  /** EU VAT: Stripe Tax on the session, the buyer's VAT ID, the billing address. */
  tax: CheckoutTax;
}

export interface CheckoutTax {
  automaticTax: boolean;
  taxIdCollection: boolean;
  billingAddressCollection: 'auto' | 'required';
}

export interface CheckoutSession {
  id: string;
  url: string;
}

export type SubscriptionStatus = 'incomplete' | 'incomplete_expired' | 'trialing' | 'active' | 'past_due' | 'canceled' | 'unpaid' | 'paused';

export type BillingEvent =
  | {
      id: string;
      /**
       * `completed` with `paymentStatus: unpaid` means a delayed method (SEPA debit…) is still
       * settling: only `async_payment_succeeded` (or `paid` / `no_payment_required`) is money.
       */
      type: 'checkout.session.completed' | 'checkout.session.async_payment_succeeded' | 'checkout.session.async_payment_failed';
      sessionId: string;
      clientReferenceId: string | null;
      subscriptionId: string | null;
      customerId: string | null;
      paymentStatus: 'paid' | 'unpaid' | 'no_payment_required';
      metadata: Record<string, string>;
    }
  | {
      id: string;
      /**
       * The event's object is a snapshot from when it happened, and Stripe delivers out of order
       * and retries for days: the handler reads the subscription's current state instead of `status`.
       */
      type: 'customer.subscription.updated' | 'customer.subscription.deleted' | 'customer.subscription.paused' | 'customer.subscription.resumed';
      subscriptionId: string;
      status: SubscriptionStatus;
      metadata: Record<string, string>;
    }
  | { id: string; type: 'other'; stripeType: string };

export interface RefundOutcome {
  /** What was paid and is now refunded, in the currency's minor unit (0: nothing had been paid). */
  amountRefunded: number;
  currency: string | null;
  refundIds: string[];
  /** A payment still on its way (a bank debit not settled yet) cannot be refunded now. */
  paymentSettling: boolean;
}

/** A subscription as Stripe holds it now. */
export interface SubscriptionState {
  id: string;
  status: SubscriptionStatus;
  customerId: string;
  /** When the current period ends (the next invoice), null when Stripe gives none. */
  currentPeriodEnd: Date | null;
  cancelAtPeriodEnd: boolean;
  /** The price of its (single) item: which plan it is on now. Null when Stripe gives none. */
  priceId: string | null;
}

/** How Stripe bills a price change within the period (Stripe's `proration_behavior`). */
export type ProrationBehavior = 'create_prorations' | 'always_invoice' | 'none';

export interface BillingProvider {
  /** The subscription's current state (a cancelled one is still returned, with status canceled); null when Stripe has no such subscription. */
  getSubscription(subscriptionId: string): Promise<SubscriptionState | null>;
  /**
   * A Stripe customer portal session (update the card, pay an open invoice, see invoices, cancel):
   * its URL is short-lived and single-customer, so it is made when the person asks, never mailed.
   */
  createPortalSession(input: { customerId: string; returnUrl: string }): Promise<{ url: string }>;
  createCheckoutSession(input: CheckoutInput): Promise<CheckoutSession>;
  /** Verifies the signature on the raw body; throws ValidationError when it does not match. */
  parseWebhook(rawBody: string, signatureHeader: string | undefined): Promise<BillingEvent>;
  /** Makes an open checkout session unpayable (a newer checkout replaced it); a paid or expired one is left alone. */
  expireCheckoutSession(sessionId: string): Promise<void>;
  /**
   * Ends the subscription at the end of the current period (`cancel_at_period_end: true`), or
   * takes that back (`false`) while the period runs. Returns Stripe's state after the change.
   */
  setCancelAtPeriodEnd(subscriptionId: string, cancel: boolean): Promise<SubscriptionState>;
  /**
   * Moves the subscription's item to another price, prorated as `proration` says (Stripe's
   * `proration_behavior`): the difference for the rest of the period is billed on the next invoice.
   */
  changePrice(subscriptionId: string, priceId: string, proration: ProrationBehavior): Promise<SubscriptionState>;
  /** Cancels now; cancelling an already cancelled subscription succeeds. */
  cancelSubscription(subscriptionId: string): Promise<void>;
  /**
   * Refunds in full every settled payment of the subscription's latest invoice (its first
   * one, for a new subscription). Safe to repeat: a payment already refunded counts as refunded.
   */
  refundLatestInvoice(subscriptionId: string, metadata: Record<string, string>): Promise<RefundOutcome>;
  /** Deletes the customer and what Stripe holds about them (erasure); an unknown or deleted customer succeeds. */
  deleteCustomer(customerId: string): Promise<void>;
}
