/**
 * Stripe emulator: the checkout-session, subscription, invoice and refund
 * endpoints of the v1 API in the real wire format (form bodies, Stripe error JSON, Idempotency-Key),
 * so the official SDK runs unchanged against it (give the adapter
 * `apiUrl: emulator.url`), plus webhooks signed with the endpoint secret
 * exactly as Stripe signs them. A hosted checkout page lets a person pay in a
 * browser; tests drive the same actions in-process and get back the delivery
 * once the receiver has answered.
 */
import { Hono } from 'hono';
import { FaultInjector, type FaultProfile } from '../faults.ts';
import { serveOnLoopbackPreferring, type RunningServer } from '../serve.ts';
import { registerHostedPages } from './hosted-pages.ts';
import { registerPortalPages } from './portal-pages.ts';
import { IdempotencyStore } from './idempotency.ts';
import type { SessionRequest, StripeCharge, StripeCheckoutSession, StripeInvoice, StripeInvoiceItem, StripeRefund, StripeSubscription } from './objects.ts';
import { endPeriod, setCancelAtPeriodEnd } from './subscription-updates.ts';
import type { PaymentMethod } from './payments.ts';
import { registerStripeRoutes } from './routes.ts';
import { StripeState, type StoredEvent, type StripeSnapshot } from './state.ts';
import type { BuyerInput } from './tax-params.ts';
import { WebhookSender, type Delivery } from './webhooks.ts';
import { StripeApiError, errorBody, fail } from './wire.ts';

export type { Delivery } from './webhooks.ts';
export { stripeSignature } from './webhooks.ts';

export interface StripeEmulatorOptions {
  /** The endpoint secret (whsec_…) webhooks are signed with; mailplane verifies with the same one. */
  webhookSecret: string;
  /** Where webhooks go; settable later with setWebhookUrl (the API's port may not be known yet). */
  webhookUrl?: string;
  faults?: FaultProfile;
  /** Price ids the account has with their unit amounts in cents (Stripe refuses others); default: the sandbox plans' prices. */
  prices?: Record<string, number>;
}

/** The default plans' prices (src/config.ts shows the same amounts on the subscribe page). */
export const SANDBOX_PRICES: Record<string, number> = { price_mailplane_starter: 1900, price_mailplane_business: 4900 };

/** A session as the emulator saw it: Stripe's object plus what was asked for in line_items and subscription_data. */
export type EmulatedSession = StripeCheckoutSession & {
  line_items: SessionRequest['lineItems'];
  subscription_data: SessionRequest['subscriptionData'];
};
export type EmulatedSubscription = StripeSubscription;

/** Stripe's secret keys in test mode; anything else is refused as a live or malformed key. */
const TEST_KEY = /^Bearer\s+(sk|rk)_test_\w+$/;

export class StripeEmulator {
  readonly faults: FaultInjector;
  private readonly state = new StripeState((id) => `${this.url}/pay/${id}`);
  private readonly webhooks: WebhookSender;
  private readonly app = new Hono();
  private running: RunningServer | null = null;
  /** Added to the wall clock (tests: "a day later"). */
  private clockOffsetMs = 0;

  /** Sessions, customers, subscriptions and events as JSON (the sandbox persists them across restarts). */
  snapshot(): StripeSnapshot {
    return this.state.snapshot();
  }

  restore(snap: StripeSnapshot): void {
    this.state.restore(snap);
  }

  constructor(opts: StripeEmulatorOptions) {
    this.faults = new FaultInjector(opts.faults);
    this.webhooks = new WebhookSender(opts.webhookSecret, opts.webhookUrl);
    this.app.onError((err, c) => {
      if (err instanceof StripeApiError) return fail(c, err);
      return c.json(errorBody('api_error', 'An unknown error occurred'), 500);
    });
    this.app.notFound((c) => c.json(errorBody('invalid_request_error', `Unrecognized request URL (${c.req.method}: ${c.req.path}).`), 404));

    this.app.get('/__sandbox/state', (c) =>
      c.json({ sessions: this.sessions(), subscriptions: this.subscriptions(), deliveries: this.deliveries(), faults: this.faults.current }),
    );
    this.app.get('/__sandbox/faults', (c) => c.json(this.faults.current));
    // The sandbox's test clock for one subscription: its period ends now (see advanceToPeriodEnd).
    this.app.post('/__sandbox/subscriptions/:id/end-period', async (c) => {
      const d = await this.advanceToPeriodEnd(c.req.param('id'));
      return c.json({ eventId: d.eventId, type: d.type, webhookStatus: d.status });
    });
    this.app.put('/__sandbox/faults', async (c) => {
      this.faults.set((await c.req.json()) as FaultProfile);
      return c.json(this.faults.current);
    });

    // Faults and auth apply to the API only: the hosted pages are the person's
    // browser talking to "Stripe", not mailplane's client.
    this.app.use(
      '/v1/*',
      this.faults.middleware((c, status) =>
        status === 429
          ? c.json(errorBody('invalid_request_error', 'Too many requests made to the API too quickly', { code: 'rate_limit' }), 429)
          : c.json(errorBody('api_error', 'Something went wrong on Stripe’s end.'), status),
      ),
    );
    this.app.use('/v1/*', async (c, next) => {
      const header = c.req.header('Authorization');
      if (!header) {
        return c.json(
          errorBody(
            'invalid_request_error',
            "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').",
          ),
          401,
        );
      }
      if (!TEST_KEY.test(header)) {
        const shown = header.replace(/^Bearer\s+/, '').slice(0, 8);
        return c.json(errorBody('invalid_request_error', `Invalid API Key provided: ${shown}***`, { code: 'api_key_invalid' }), 401);
      }
      return next();
    });
    this.app.use('/v1/*', new IdempotencyStore(() => Date.now() + this.clockOffsetMs).middleware());
    registerStripeRoutes(this.app, this.state, {
      deliverLater: (event) => void this.webhooks.send(event),
      prices: new Map(Object.entries(opts.prices ?? SANDBOX_PRICES)),
      portalUrl: (id) => `${this.url}/p/session/${id}`,
    });
    registerHostedPages(this.app, this.state, this);
    registerPortalPages(this.app, this.state, this);
  }

  /** `port`: the one it had before a restart, kept when still free. */
  async start(port?: number): Promise<void> {
    if (this.running) return;
    this.running = await serveOnLoopbackPreferring(this.app, port);
  }

  async stop(): Promise<void> {
    await this.webhooks.settled();
    await this.running?.close();
    this.running = null;
  }

  /** Origin of the emulator (no path): what the adapter takes as `apiUrl`. */
  get url(): string {
    if (!this.running) throw new Error('Stripe emulator not started');
    return this.running.url;
  }

  /** Moves the emulator's clock forward (idempotency keys expire after 24 hours). */
  advanceTime(ms: number): void {
    this.clockOffsetMs += ms;
  }

  setWebhookUrl(url: string): void {
    this.webhooks.url = url;
  }

  /**
   * The customer pays: customer + subscription created, checkout.session.completed delivered.
   * `sepa_debit` completes the session unpaid; settle it later with settlePayment. `none`: nothing
   * to pay (a 100 % promotion code), the session is no_payment_required and no charge exists.
   */
  completeCheckout(sessionId: string, method: PaymentMethod = 'card', buyer?: BuyerInput): Promise<Delivery> {
    return this.deliver(() => this.state.completeSession(sessionId, method, buyer));
  }

  /** The SEPA debit of a session settles (async_payment_succeeded) or bounces (async_payment_failed). */
  settlePayment(sessionId: string, outcome: 'succeeded' | 'failed'): Promise<Delivery> {
    return this.deliver(() => this.state.settleDelayedPayment(sessionId, outcome));
  }

  /** The customer cancels (portal or dashboard): status canceled, customer.subscription.deleted delivered. */
  cancelSubscription(subscriptionId: string): Promise<Delivery> {
    return this.deliver(() => this.state.cancelSubscription(subscriptionId));
  }

  /** A renewal charge fails: past_due, customer.subscription.updated delivered. */
  failPayment(subscriptionId: string): Promise<Delivery> {
    return this.deliver(() => this.state.failPayment(subscriptionId));
  }

  /** Stripe's retries of a failed renewal all failed: the subscription is cancelled, or marked unpaid (the account's setting). */
  endRetries(subscriptionId: string, outcome: 'cancel' | 'unpaid'): Promise<Delivery> {
    return this.deliver(() => this.state.endRetries(subscriptionId, outcome));
  }

  /** The customer pays the open invoice with a new card in the portal: the subscription is active again. */
  payLatestInvoice(subscriptionId: string): Promise<Delivery> {
    return this.deliver(() => this.state.payLatestInvoice(subscriptionId));
  }

  /** The customer cancels in the portal: at the end of the period, as the portal does by default. */
  cancelAtPeriodEnd(subscriptionId: string): Promise<Delivery> {
    return this.deliver(() => setCancelAtPeriodEnd(this.state, subscriptionId, true));
  }

  /** The customer takes back a cancellation at the period end (the portal's "Renew subscription"). */
  renewSubscription(subscriptionId: string): Promise<Delivery> {
    return this.deliver(() => setCancelAtPeriodEnd(this.state, subscriptionId, false));
  }

  /**
   * The subscription's period ends now (a test clock moved past it): one set to cancel at the
   * period end is cancelled (customer.subscription.deleted), another renews (customer.subscription.updated).
   */
  advanceToPeriodEnd(subscriptionId: string): Promise<Delivery> {
    return this.deliver(() => endPeriod(this.state, subscriptionId));
  }

  /** Prorations of price changes waiting for the next invoice (Stripe's pending invoice items). */
  pendingInvoiceItems(): StripeInvoiceItem[] {
    return [...this.state.pendingInvoiceItems.values()].map((i) => structuredClone(i));
  }

  /** Events from now on wait until releaseDeliveries: Stripe does not promise any order. */
  holdDeliveries(): void {
    this.webhooks.hold();
  }

  /** Sends the held events, by default newest first. */
  releaseDeliveries(order: 'reverse' | 'as-happened' = 'reverse'): Promise<Delivery[]> {
    return this.webhooks.release(order);
  }

  /** Delays between automatic retries of a failed delivery (default: Stripe's, about three days in all). */
  setRetrySchedule(delaysMs: number[]): void {
    this.webhooks.setRetrySchedule(delaysMs);
  }

  /** The event's last delivery once it was answered 2xx or its retries ran out. */
  finalDelivery(eventId: string): Promise<Delivery> {
    return this.webhooks.finalOutcome(eventId);
  }

  /** Redelivers an event: same id and body, fresh timestamp and signature. */
  resend(eventId: string): Promise<Delivery> {
    const stored = this.state.events.get(eventId);
    if (!stored) return Promise.reject(new Error(`Stripe emulator: no event ${eventId}`));
    return this.webhooks.send(stored);
  }

  deliveries(): Delivery[] {
    return this.webhooks.deliveries();
  }

  sessions(): EmulatedSession[] {
    return [...this.state.sessions.values()].map(({ session, request }) =>
      structuredClone({ ...session, line_items: request.lineItems, subscription_data: request.subscriptionData }),
    );
  }

  /** Customers Stripe still holds (deleted ones are gone). */
  customers(): Array<{ id: string; email: string | null }> {
    return [...this.state.customers.values()].map((c) => ({ id: c.id, email: c.email }));
  }

  subscriptions(): EmulatedSubscription[] {
    return [...this.state.subscriptions.values()].map((s) => structuredClone(s));
  }

  /** Invoices with their payments, as `expand[]=payments` shows them. */
  invoices(): StripeInvoice[] {
    return [...this.state.payments.invoices.keys()].map((id) => structuredClone(this.state.payments.invoice(id, true)));
  }

  charges(): StripeCharge[] {
    return [...this.state.payments.charges.values()].map((c) => structuredClone(c));
  }

  refunds(): StripeRefund[] {
    return [...this.state.payments.refunds.values()].map((r) => structuredClone(r));
  }

  private deliver(change: () => StoredEvent): Promise<Delivery> {
    // A refused change (unknown id, already paid…) rejects with Stripe's own error and sends nothing.
    try {
      return this.webhooks.send(change());
    } catch (err) {
      return Promise.reject(err);
    }
  }
}
