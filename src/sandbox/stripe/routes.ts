/**
 * The v1 endpoints mailplane's Stripe adapter calls. Parameters are checked the
 * way Stripe checks them (unknown parameter → 400 naming it, missing required
 * → 400 parameter_missing) so a typo in the adapter fails here, not in production.
 */
import type { Hono } from 'hono';
import type { StoredEvent, StripeState } from './state.ts';
import { StripeApiError, formBody, metadataParam, optionalString, type FormObject, type FormValue } from './wire.ts';

const SESSION_PARAMS = new Set([
  'mode', 'line_items', 'client_reference_id', 'customer_email', 'customer', 'metadata', 'subscription_data',
  'success_url', 'cancel_url', 'expand', 'payment_method_types', 'allow_promotion_codes', 'locale', 'billing_address_collection',
]);

function rejectUnknown(form: FormObject, known: Set<string>): void {
  for (const key of Object.keys(form)) {
    if (!known.has(key)) throw new StripeApiError(400, 'invalid_request_error', `Received unknown parameter: ${key}`, { code: 'parameter_unknown', param: key });
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

export interface RouteHooks {
  /** Delivers an event's webhook; the API answers before it arrives, as Stripe's does. */
  deliverLater(event: StoredEvent): void;
  /** The account's prices: a session naming another is refused, as Stripe does. */
  prices: ReadonlySet<string>;
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
        throw new StripeApiError(400, 'invalid_request_error', `No such price: '${item.price}'`, { code: 'resource_missing', param: `line_items[${i}][price]` });
      }
    });
    const session = state.createSession({
      mode,
      clientReferenceId: optionalString(form, 'client_reference_id'),
      customerEmail: optionalString(form, 'customer_email'),
      metadata: metadataParam(form['metadata'], 'metadata'),
      successUrl: optionalString(form, 'success_url'),
      cancelUrl: optionalString(form, 'cancel_url'),
      request: { lineItems: items, subscriptionData: subscriptionData(form['subscription_data']) },
    });
    return c.json(session);
  });

  app.get('/v1/checkout/sessions/:id', (c) => c.json(state.session(c.req.param('id'))));

  // Stripe: only an open session can be expired; its hosted page then refuses to take payment.
  app.post('/v1/checkout/sessions/:id/expire', (c) => {
    const session = state.session(c.req.param('id'));
    if (session.status !== 'open') throw StripeApiError.invalid('Only Checkout Sessions with a status in ["open"] can be expired.');
    Object.assign(session, { status: 'expired', url: null });
    return c.json(session);
  });

  app.get('/v1/subscriptions/:id', (c) => c.json(state.subscription(c.req.param('id'))));

  app.delete('/v1/customers/:id', (c) => {
    const { deleted, events } = state.deleteCustomer(c.req.param('id'));
    for (const stored of events) hooks.deliverLater(stored);
    return c.json(deleted);
  });

  app.delete('/v1/subscriptions/:id', (c) => {
    const stored = state.cancelSubscription(c.req.param('id'));
    hooks.deliverLater(stored);
    return c.json(stored.event.data.object);
  });
}
