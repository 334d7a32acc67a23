/**
 * The emulator's memory: checkout sessions, the customers and subscriptions a
 * paid session creates, and every event (with the exact JSON that was signed,
 * so a redelivery sends the same bytes). State changes follow Stripe's rules:
 * a session completes once, a cancelled subscription is gone for the API.
 */
import {
  API_VERSION,
  type SessionRequest,
  type StripeCharge,
  type StripeCheckoutSession,
  type StripeCustomer,
  type StripeEvent,
  type StripeRefund,
  type StripeInvoiceItem,
  type StripePortalSession,
  type StripeSubscription,
} from './objects.ts';
import { StripePayments, type PaymentMethod, type PaymentsSnapshot, type RefundRequest } from './payments.ts';
import { SANDBOX_BUYER, buyerDetails, type BuyerInput, type SessionTax } from './tax-params.ts';
import { StripeApiError, stripeId, unixNow } from './wire.ts';

const DAY = 24 * 60 * 60;
const MONTH = 30 * DAY;

export interface NewSession {
  mode: StripeCheckoutSession['mode'];
  clientReferenceId: string | null;
  customerEmail: string | null;
  /** An existing customer (then no customer_email): the subscription joins it. */
  customer: string | null;
  metadata: Record<string, string>;
  successUrl: string | null;
  cancelUrl: string | null;
  amountTotal: number;
  tax: SessionTax;
  request: SessionRequest;
}

/** Sessions stored before the tax fields were emulated read as Stripe's defaults. */
const NO_TAX: SessionTax = {
  automatic_tax: { enabled: false, liability: null, provider: null, status: null },
  billing_address_collection: null,
  tax_id_collection: { enabled: false, required: 'never' },
};

export interface StoredEvent {
  event: StripeEvent;
  /** The JSON exactly as first signed and sent. */
  payload: string;
  sessionId?: string;
  subscriptionId?: string;
}

export interface StripeSnapshot {
  sessions: { session: StripeCheckoutSession; request: SessionRequest }[];
  subscriptions: StripeSubscription[];
  customers: StripeCustomer[];
  events: StoredEvent[];
  unsettled: string[];
  /** Absent in snapshots written before payments were emulated. */
  payments?: PaymentsSnapshot;
  /** Absent in snapshots written before price changes were emulated. */
  pendingInvoiceItems?: StripeInvoiceItem[];
}

export class StripeState {
  readonly sessions = new Map<string, { session: StripeCheckoutSession; request: SessionRequest }>();
  readonly subscriptions = new Map<string, StripeSubscription>();
  readonly customers = new Map<string, StripeCustomer>();
  readonly events = new Map<string, StoredEvent>();
  /** Sessions paid by a delayed method whose payment has not settled yet. */
  readonly unsettled = new Set<string>();
  readonly payments = new StripePayments();
  /** Prorations of price changes, waiting for the subscription's next invoice (Stripe's pending invoice items). */
  readonly pendingInvoiceItems = new Map<string, StripeInvoiceItem>();
  /** Customer portal sessions (short-lived, so not kept across restarts). */
  readonly portalSessions = new Map<string, StripePortalSession>();

  private readonly payUrl: (sessionId: string) => string;

  constructor(payUrl: (sessionId: string) => string) {
    this.payUrl = payUrl;
  }

  /** The account as JSON (the sandbox persists it across restarts). */
  snapshot(): StripeSnapshot {
    return {
      sessions: [...this.sessions.values()],
      subscriptions: [...this.subscriptions.values()],
      customers: [...this.customers.values()],
      events: [...this.events.values()],
      unsettled: [...this.unsettled],
      payments: this.payments.snapshot(),
      pendingInvoiceItems: [...this.pendingInvoiceItems.values()],
    };
  }

  restore(snap: StripeSnapshot): void {
    for (const s of snap.sessions) this.sessions.set(s.session.id, { ...s, session: { ...NO_TAX, ...s.session } });
    for (const s of snap.subscriptions) this.subscriptions.set(s.id, { ...s, cancel_at: s.cancel_at ?? null });
    for (const i of snap.pendingInvoiceItems ?? []) this.pendingInvoiceItems.set(i.id, i);
    for (const c of snap.customers) this.customers.set(c.id, c);
    for (const e of snap.events) this.events.set(e.event.id, e);
    for (const id of snap.unsettled) this.unsettled.add(id);
    if (snap.payments) this.payments.restore(snap.payments);
  }

  createSession(input: NewSession): StripeCheckoutSession {
    const id = stripeId('cs_test', 58);
    const created = unixNow();
    const session: StripeCheckoutSession = {
      id,
      object: 'checkout.session',
      mode: input.mode,
      status: 'open',
      payment_status: 'unpaid',
      url: this.payUrl(id),
      client_reference_id: input.clientReferenceId,
      customer: input.customer,
      customer_email: input.customerEmail,
      customer_details: null,
      subscription: null,
      metadata: input.metadata,
      success_url: input.successUrl,
      cancel_url: input.cancelUrl,
      ...structuredClone(input.tax),
      currency: 'eur',
      amount_total: input.amountTotal,
      created,
      expires_at: created + DAY,
      livemode: false,
    };
    this.sessions.set(id, { session, request: input.request });
    return session;
  }

  session(id: string): StripeCheckoutSession {
    const found = this.sessions.get(id);
    if (!found) throw StripeApiError.missing('checkout.session', id);
    return found.session;
  }

  /**
   * The customer paid: a customer and an active subscription carrying subscription_data.metadata.
   * By card the money is there (`payment_status: paid`). By SEPA Direct Debit (a delayed
   * notification method) the session completes `unpaid`: the debit settles days later, and
   * Stripe then sends `checkout.session.async_payment_succeeded` or `_failed` (settleDelayedPayment).
   * With nothing to pay (`none`: a 100 % promotion code) the session is `no_payment_required`.
   */
  completeSession(sessionId: string, method: PaymentMethod = 'card', buyer: BuyerInput = SANDBOX_BUYER): StoredEvent {
    const found = this.sessions.get(sessionId);
    if (!found) throw StripeApiError.missing('checkout.session', sessionId);
    const { session, request } = found;
    if (session.status !== 'open') throw StripeApiError.invalid(`Checkout session ${sessionId} is ${session.status}, it cannot be paid`);
    // Checked before anything is created: an incomplete address or a malformed VAT ID takes no money.
    const details = buyerDetails(session, buyer);
    const now = unixNow();
    const existing = session.customer ? this.customers.get(session.customer) : undefined;
    if (session.customer && !existing) throw StripeApiError.missing('customer', session.customer);
    const customer: StripeCustomer = existing ?? { id: stripeId('cus', 14), object: 'customer', email: session.customer_email, created: now, livemode: false };
    this.customers.set(customer.id, customer);
    const subscriptionId = stripeId('sub');
    const amount = method === 'none' ? 0 : (session.amount_total ?? 0);
    const invoiceId = this.payments.createFirstInvoice({
      customer: customer.id,
      subscription: subscriptionId,
      metadata: request.subscriptionData.metadata,
      amount,
      currency: session.currency,
      method,
    });
    const subscription: StripeSubscription = {
      id: subscriptionId,
      object: 'subscription',
      customer: customer.id,
      status: 'active',
      metadata: { ...request.subscriptionData.metadata },
      items: {
        object: 'list',
        data: request.lineItems.map((item) => ({
          id: stripeId('si', 14),
          object: 'subscription_item' as const,
          price: { id: item.price, object: 'price' as const },
          quantity: item.quantity,
          subscription: subscriptionId,
          current_period_start: now,
          current_period_end: now + MONTH,
        })),
        has_more: false,
        url: `/v1/subscription_items?subscription=${subscriptionId}`,
      },
      collection_method: 'charge_automatically',
      cancel_at_period_end: false,
      cancel_at: null,
      canceled_at: null,
      ended_at: null,
      cancellation_details: { reason: null, comment: null, feedback: null },
      latest_invoice: invoiceId,
      currency: session.currency,
      start_date: now,
      created: now,
      livemode: false,
    };
    this.subscriptions.set(subscription.id, subscription);
    if (method === 'sepa_debit') this.unsettled.add(sessionId);
    Object.assign(session, {
      status: 'complete',
      payment_status: method === 'sepa_debit' ? 'unpaid' : amount === 0 ? 'no_payment_required' : 'paid',
      // Stripe drops the hosted page URL once the session is no longer open.
      url: null,
      customer: customer.id,
      customer_details: { ...details, email: details.email ?? customer.email },
      automatic_tax: { ...session.automatic_tax, status: session.automatic_tax.enabled ? 'complete' : null },
      subscription: subscription.id,
    } satisfies Partial<StripeCheckoutSession>);
    return this.recordEvent('checkout.session.completed', session, { sessionId, subscriptionId: subscription.id });
  }

  /**
   * Deletes the customer, as Stripe does: its live subscriptions are cancelled
   * at once (their events returned for delivery); an unknown or already deleted
   * customer is 404 resource_missing.
   */
  deleteCustomer(id: string): { deleted: { id: string; object: 'customer'; deleted: true }; events: StoredEvent[] } {
    if (!this.customers.has(id)) throw StripeApiError.missing('customer', id);
    const events = [...this.subscriptions.values()].filter((s) => s.customer === id && s.status !== 'canceled').map((s) => this.cancelSubscription(s.id));
    this.customers.delete(id);
    return { deleted: { id, object: 'customer', deleted: true }, events };
  }

  subscription(id: string): StripeSubscription {
    const found = this.subscriptions.get(id);
    if (!found) throw StripeApiError.missing('subscription', id);
    return found;
  }

  /**
   * Cancels at once. Stripe treats a cancelled subscription as deleted for
   * this endpoint: a second cancel answers 404 resource_missing (a GET still
   * returns it, with status canceled).
   */
  cancelSubscription(id: string, reason: 'cancellation_requested' | 'payment_failed' = 'cancellation_requested'): StoredEvent {
    const sub = this.subscription(id);
    if (sub.status === 'canceled') throw StripeApiError.missing('subscription', id);
    const now = unixNow();
    Object.assign(sub, { status: 'canceled', canceled_at: now, ended_at: now } satisfies Partial<StripeSubscription>);
    sub.cancellation_details = { reason, comment: null, feedback: null };
    return this.recordEvent('customer.subscription.deleted', sub, { subscriptionId: id });
  }

  /** The unsettled session of a subscription, if its first payment is still on its way. */
  unsettledSessionOf(subscriptionId: string): string | null {
    for (const id of this.unsettled) if (this.sessions.get(id)?.session.subscription === subscriptionId) return id;
    return null;
  }

  /** A delayed payment settles: succeeded → the session is paid; failed → it stays unpaid and the subscription past_due. */
  settleDelayedPayment(sessionId: string, outcome: 'succeeded' | 'failed'): StoredEvent {
    const session = this.session(sessionId);
    if (!this.unsettled.has(sessionId)) throw StripeApiError.invalid(`Checkout session ${sessionId} has no payment waiting to settle`);
    this.unsettled.delete(sessionId);
    const invoiceId = session.subscription ? this.subscriptions.get(session.subscription)?.latest_invoice : null;
    if (invoiceId) this.payments.settle(invoiceId, outcome);
    if (outcome === 'succeeded') session.payment_status = 'paid';
    else if (session.subscription) {
      // A bounced debit makes a live subscription past_due; a cancelled one stays cancelled.
      const sub = this.subscription(session.subscription);
      if (sub.status !== 'canceled') sub.status = 'past_due';
    }
    return this.recordEvent(`checkout.session.async_payment_${outcome}`, session, {
      sessionId,
      ...(session.subscription ? { subscriptionId: session.subscription } : {}),
    });
  }

  /**
   * A renewal payment failed: an open renewal invoice, the subscription past_due, and Stripe
   * tells us so. Stripe then retries the charge (Smart Retries) until `endRetries`.
   */
  failPayment(id: string): StoredEvent {
    const sub = this.subscription(id);
    if (sub.status === 'canceled') throw StripeApiError.invalid(`Subscription ${id} is canceled`);
    const previous = { status: sub.status, latest_invoice: sub.latest_invoice };
    const first = sub.latest_invoice ? this.payments.invoices.get(sub.latest_invoice) : undefined;
    sub.latest_invoice = this.payments.createFailedRenewal({
      customer: sub.customer,
      subscription: id,
      metadata: sub.metadata,
      amount: first?.amount_due ?? 0,
      currency: sub.currency,
    });
    sub.status = 'past_due';
    return this.recordEvent('customer.subscription.updated', sub, { subscriptionId: id }, previous);
  }

  /**
   * Stripe's retries all failed: what the account's settings say then, cancel the subscription
   * (customer.subscription.deleted, reason payment_failed) or mark it unpaid (still payable).
   */
  endRetries(id: string, outcome: 'cancel' | 'unpaid'): StoredEvent {
    const sub = this.subscription(id);
    if (sub.status !== 'past_due') throw StripeApiError.invalid(`Subscription ${id} is ${sub.status}, not past_due`);
    if (outcome === 'cancel') return this.cancelSubscription(id, 'payment_failed');
    sub.status = 'unpaid';
    return this.recordEvent('customer.subscription.updated', sub, { subscriptionId: id }, { status: 'past_due' });
  }

  /**
   * The customer pays the open invoice with a new card (customer portal): the subscription is
   * active again. A cancelled subscription cannot be brought back, at Stripe as here.
   */
  payLatestInvoice(id: string): StoredEvent {
    const sub = this.subscription(id);
    if (sub.status === 'canceled') throw StripeApiError.invalid(`Subscription ${id} is canceled and cannot be reactivated.`);
    if (!sub.latest_invoice) throw StripeApiError.invalid(`Subscription ${id} has no invoice to pay.`);
    this.payments.payOpenInvoice(sub.latest_invoice);
    const previous = { status: sub.status };
    sub.status = 'active';
    return this.recordEvent('customer.subscription.updated', sub, { subscriptionId: id }, previous);
  }

  createPortalSession(customer: string, returnUrl: string | null, url: (id: string) => string): StripePortalSession {
    if (!this.customers.has(customer))
      throw new StripeApiError(400, 'invalid_request_error', `No such customer: '${customer}'`, { code: 'resource_missing', param: 'customer' });
    const id = stripeId('bps');
    const session: StripePortalSession = {
      id,
      object: 'billing_portal.session',
      configuration: 'bpc_sandbox_default',
      created: unixNow(),
      customer,
      flow: null,
      livemode: false,
      locale: null,
      on_behalf_of: null,
      return_url: returnUrl,
      url: url(id),
    };
    this.portalSessions.set(id, session);
    return session;
  }

  /** A refund of a charge: refund.created and charge.refunded are sent, as Stripe does. */
  refund(req: RefundRequest): { refund: StripeRefund; events: StoredEvent[] } {
    const { refund, charge } = this.payments.refund(req);
    return { refund, events: [this.recordEvent('refund.created', refund, {}), this.recordEvent('charge.refunded', charge, {})] };
  }

  /** Records an event (exported for the subscription updates in subscription-updates.ts). */
  recordEvent(
    type: string,
    object: StripeCheckoutSession | StripeSubscription | StripeCharge | StripeRefund,
    refs: { sessionId?: string; subscriptionId?: string },
    previous?: Record<string, unknown>,
  ): StoredEvent {
    const event: StripeEvent = {
      id: stripeId('evt'),
      object: 'event',
      api_version: API_VERSION,
      created: unixNow(),
      type,
      // A snapshot: later changes to the object must not rewrite what this event said.
      data: { object: structuredClone(object), ...(previous ? { previous_attributes: previous } : {}) },
      livemode: false,
      pending_webhooks: 1,
      request: { id: null, idempotency_key: null },
    };
    const stored: StoredEvent = { event, payload: JSON.stringify(event, null, 2), ...refs };
    this.events.set(event.id, stored);
    return stored;
  }
}
