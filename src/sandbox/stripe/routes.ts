/**
 * The v1 endpoints mailplane's Stripe adapter calls. Parameters are checked the
 * way Stripe checks them (unknown parameter → 400 naming it, missing required
 * → 400 parameter_missing) so a typo in the adapter fails here, not in production.
 */
import type { Context, Hono } from 'hono';
import type { StripeRefund } from './objects.ts';
import type { StoredEvent, StripeState } from './state.ts';
import { changeItemPrice, PRORATION_BEHAVIORS, setCancelAtPeriodEnd, type Proration } from './subscription-updates.ts';
import { sessionTaxParams } from './tax-params.ts';
import { StripeApiError, decodeForm, formBody, metadataParam, optionalString, type FormObject, type FormValue } from './wire.ts';

const SESSION_PARAMS = new Set([
  'mode',
  'line_items',
  'client_reference_id',
  'customer_email',
  'customer',
  'metadata',
  'subscription_data',
  'success_url',
  'cancel_url',
  'expand',
  'payment_method_types',
  'allow_promotion_codes',
  'locale',
  'billing_address_collection',
  'automatic_tax',
  'tax_id_collection',
  'customer_update',
]);

const REFUND_PARAMS = new Set([
  'payment_intent',
  'charge',
  'amount',
  'reason',
  'metadata',
  'expand',
  'instructions_email',
  'refund_application_fee',
  'reverse_transfer',
]);
const PORTAL_PARAMS = new Set(['customer', 'return_url', 'configuration', 'locale', 'on_behalf_of', 'flow_data', 'expand']);

// What an update may carry (Stripe takes many more; those mailplane never sends are refused, so a typo fails here).
const SUBSCRIPTION_UPDATE_PARAMS = new Set(['cancel_at_period_end', 'items', 'proration_behavior', 'metadata', 'expand']);

const REFUND_REASONS = ['duplicate', 'fraudulent', 'requested_by_customer'];

/** `expand[]` of a GET (the SDK sends it in the query string); Stripe refuses a path it cannot expand. */
function expansions(c: Context, allowed: string[]): Set<string> {
  const raw = decodeForm(new URL(c.req.url).search.slice(1))['expand'];
  const asked = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
  for (const path of asked) {
    if (typeof path !== 'string' || !allowed.includes(path)) throw StripeApiError.invalid(`This property cannot be expanded (${String(path)}).`, 'expand');
  }
  return new Set(asked as string[]);
}

function positiveInteger(form: FormObject, key: string): number | null {
  const value = optionalString(form, key);
  if (value === null) return null;
  if (!/^\d+$/.test(value) || Number(value) < 1)
    throw new StripeApiError(400, 'invalid_request_error', 'Invalid positive integer', { code: 'parameter_invalid_integer', param: key });
  return Number(value);
}

function rejectUnknown(form: FormObject, known: Set<string>): void {
  for (const key of Object.keys(form)) {
    if (!known.has(key))
      throw new StripeApiError(400, 'invalid_request_error', `Received unknown parameter: ${key}`, { code: 'parameter_unknown', param: key });
  }
}

function lineItems(value: FormValue | undefined): { price: string; quantity: number }[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw StripeApiError.missingParam('line_items');
  }
  return value.map((item, i) => {
    if (typeof item !== 'object' || Array.isArray(item)) throw StripeApiError.invalid(`Invalid object`, `line_items[${i}]`);
    const price = item['price'];
    if (typeof price !== 'string' || price === '') throw StripeApiError.missingParam(`line_items[${i}][price]`);
    const quantity = item['quantity'] === undefined ? 1 : Number(item['quantity']);
    if (!Number.isInteger(quantity) || quantity < 1) {
      throw new StripeApiError(400, 'invalid_request_error', `Invalid integer: ${String(item['quantity'])}`, { param: `line_items[${i}][quantity]` });
    }
    return { price, quantity };
  });
}

function subscriptionData(value: FormValue | undefined): { metadata: Record<string, string> } {
  if (value === undefined) return { metadata: {} };
  if (typeof value !== 'object' || Array.isArray(value)) throw StripeApiError.invalid('Invalid object', 'subscription_data');
  return { metadata: metadataParam(value['metadata'], 'subscription_data[metadata]') };
}

/** `customer` names one the account has, and excludes customer_email (Stripe's rules). */
function existingCustomer(state: StripeState, form: FormObject): string | null {
  const customer = optionalString(form, 'customer');
  if (customer === null) return null;
  if (form['customer_email'] !== undefined)
    throw StripeApiError.invalid('You may only specify one of these parameters: customer, customer_email.', 'customer_email');
  if (!state.customers.has(customer))
    throw new StripeApiError(400, 'invalid_request_error', `No such customer: '${customer}'`, { code: 'resource_missing', param: 'customer' });
  return customer;
}

export interface RouteHooks {
  /** Delivers an event's webhook; the API answers before it arrives, as Stripe's does. */
  deliverLater(event: StoredEvent): void;
  /** The account's prices and their unit amounts (cents): a session naming another is refused, as Stripe does. */
  prices: ReadonlyMap<string, number>;
  /** The hosted portal page of a portal session. */
  portalUrl(sessionId: string): string;
}

export function registerStripeRoutes(app: Hono, state: StripeState, hooks: RouteHooks): void {
  app.post('/v1/checkout/sessions', async (c) => {
    const form = await formBody(c);
    rejectUnknown(form, SESSION_PARAMS);
    const mode = optionalString(form, 'mode');
    if (!mode) throw StripeApiError.missingParam('mode');
    if (mode !== 'subscription') {
      // Only the subscription flow is emulated; say so rather than return a half-made session.
      throw new StripeApiError(400, 'invalid_request_error', `The sandbox only emulates mode=subscription (got ${mode})`, { param: 'mode' });
    }
    const items = lineItems(form['line_items']);
    items.forEach((item, i) => {
      if (!hooks.prices.has(item.price)) {
        throw new StripeApiError(400, 'invalid_request_error', `No such price: '${item.price}'`, {
          code: 'resource_missing',
          param: `line_items[${i}][price]`,
        });
      }
    });
    const session = state.createSession({
      mode,
      clientReferenceId: optionalString(form, 'client_reference_id'),
      customerEmail: optionalString(form, 'customer_email'),
      customer: existingCustomer(state, form),
      metadata: metadataParam(form['metadata'], 'metadata'),
      successUrl: optionalString(form, 'success_url'),
      cancelUrl: optionalString(form, 'cancel_url'),
      amountTotal: items.reduce((sum, item) => sum + hooks.prices.get(item.price)! * item.quantity, 0),
      tax: sessionTaxParams(form),
      request: { lineItems: items, subscriptionData: subscriptionData(form['subscription_data']) },
    });
    return c.json(session);
  });

  // The customer portal: a short-lived URL for one customer (update the card, pay, see invoices, cancel).
  app.post('/v1/billing_portal/sessions', async (c) => {
    const form = await formBody(c);
    rejectUnknown(form, PORTAL_PARAMS);
    const customer = optionalString(form, 'customer');
    if (!customer) throw StripeApiError.missingParam('customer');
    return c.json(state.createPortalSession(customer, optionalString(form, 'return_url'), hooks.portalUrl));
  });

  app.get('/v1/checkout/sessions/:id', (c) => c.json(state.session(c.req.param('id'))));

  // Stripe: only an open session can be expired; its hosted page then refuses to take payment.
  app.post('/v1/checkout/sessions/:id/expire', (c) => {
    const session = state.session(c.req.param('id'));
    if (session.status !== 'open') throw StripeApiError.invalid('Only Checkout Sessions with a status in ["open"] can be expired.');
    Object.assign(session, { status: 'expired', url: null });
    return c.json(session);
  });

  app.get('/v1/subscriptions/:id', (c) => {
    const expand = expansions(c, ['latest_invoice', 'latest_invoice.payments']);
    const sub = state.subscription(c.req.param('id'));
    if (!sub.latest_invoice || expand.size === 0) return c.json(sub);
    return c.json({ ...sub, latest_invoice: state.payments.invoice(sub.latest_invoice, expand.has('latest_invoice.payments')) });
  });

  app.get('/v1/invoices/:id', (c) => c.json(state.payments.invoice(c.req.param('id'), expansions(c, ['payments']).has('payments'))));

  // A refund names the PaymentIntent or the charge; without an amount it returns whatever is left on the charge.
  app.post('/v1/refunds', async (c) => {
    const form = await formBody(c);
    rejectUnknown(form, REFUND_PARAMS);
    const paymentIntent = optionalString(form, 'payment_intent');
    const charge = optionalString(form, 'charge');
    if (!paymentIntent && !charge) throw StripeApiError.invalid('One of the following params should be provided for this request: payment_intent or charge.');
    const reason = optionalString(form, 'reason');
    if (reason !== null && !REFUND_REASONS.includes(reason)) {
      throw StripeApiError.invalid(`Invalid reason: must be one of ${REFUND_REASONS.join(', ')}`, 'reason');
    }
    const { refund, events } = state.refund({
      paymentIntent,
      charge,
      amount: positiveInteger(form, 'amount'),
      reason: reason as StripeRefund['reason'],
      metadata: metadataParam(form['metadata'], 'metadata'),
    });
    for (const stored of events) hooks.deliverLater(stored);
    return c.json(refund);
  });

  app.delete('/v1/customers/:id', (c) => {
    const { deleted, events } = state.deleteCustomer(c.req.param('id'));
    for (const stored of events) hooks.deliverLater(stored);
    return c.json(deleted);
  });

  // One change per request here (Stripe allows several at once; mailplane never sends them together).
  app.post('/v1/subscriptions/:id', async (c) => {
    const form = await formBody(c);
    rejectUnknown(form, SUBSCRIPTION_UPDATE_PARAMS);
    const id = c.req.param('id');
    const events: StoredEvent[] = [];
    const cancel = optionalString(form, 'cancel_at_period_end');
    if (cancel !== null) {
      if (cancel !== 'true' && cancel !== 'false') throw StripeApiError.invalid(`Invalid boolean: ${cancel}`, 'cancel_at_period_end');
      events.push(setCancelAtPeriodEnd(state, id, cancel === 'true'));
    }
    if (form['items'] !== undefined) {
      const items = form['items'];
      if (!Array.isArray(items) || items.length !== 1 || typeof items[0] !== 'object' || Array.isArray(items[0]))
        throw StripeApiError.invalid('Invalid array', 'items');
      const itemId = items[0]['id'];
      const price = items[0]['price'];
      if (typeof itemId !== 'string' || itemId === '') throw StripeApiError.missingParam('items[0][id]');
      if (typeof price !== 'string' || price === '') throw StripeApiError.missingParam('items[0][price]');
      const proration = optionalString(form, 'proration_behavior') ?? 'create_prorations';
      if (!(PRORATION_BEHAVIORS as readonly string[]).includes(proration)) {
        throw StripeApiError.invalid(`Invalid proration_behavior: must be one of ${PRORATION_BEHAVIORS.join(', ')}`, 'proration_behavior');
      }
      events.push(changeItemPrice(state, id, { itemId, price, proration: proration as Proration }, hooks.prices));
    }
    for (const stored of events) hooks.deliverLater(stored);
    return c.json(state.subscription(id));
  });

  app.delete('/v1/subscriptions/:id', (c) => {
    const stored = state.cancelSubscription(c.req.param('id'));
    hooks.deliverLater(stored);
    return c.json(stored.event.data.object);
  });
}
