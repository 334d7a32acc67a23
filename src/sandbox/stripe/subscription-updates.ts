/**
 * Changes to a live subscription, as `POST /v1/subscriptions/:id` makes them, and the end of
 * its period. Stripe's rules:
 *
 * - `cancel_at_period_end: true` keeps the subscription active until the period ends (`cancel_at`
 *   says when, `canceled_at` when it was asked); `false` takes it back while the period runs.
 *   Either way `customer.subscription.updated` is sent with the previous values.
 * - A price change names the existing item (`items[0][id]`) with its new `price`: the item keeps
 *   its id. `proration_behavior` (default `create_prorations`) adds two pending invoice items
 *   for the rest of the period, a credit for the old price and a charge for the new one, billed
 *   with the next invoice; `none` adds nothing.
 * - A canceled subscription can only have its metadata and cancellation_details updated.
 * - At the period's end a subscription set to cancel is cancelled (`customer.subscription.deleted`,
 *   reason `cancellation_requested`); another renews: a new period (`customer.subscription.updated`);
 *   its pending items would be lines of that invoice, which the emulator does not make: they are dropped.
 */
import type { StripeSubscription } from './objects.ts';
import type { StoredEvent, StripeState } from './state.ts';
import { StripeApiError, stripeId, unixNow } from './wire.ts';

const MONTH = 30 * 24 * 60 * 60;
export const PRORATION_BEHAVIORS = ['create_prorations', 'always_invoice', 'none'] as const;
export type Proration = (typeof PRORATION_BEHAVIORS)[number];

const periodEnd = (sub: StripeSubscription) => Math.min(...sub.items.data.map((i) => i.current_period_end));

function live(state: StripeState, id: string): StripeSubscription {
  const sub = state.subscription(id);
  if (sub.status === 'canceled') throw StripeApiError.invalid('A canceled subscription can only update its cancellation_details and metadata.');
  return sub;
}

export function setCancelAtPeriodEnd(state: StripeState, id: string, cancel: boolean): StoredEvent {
  const sub = live(state, id);
  const previous = { cancel_at_period_end: sub.cancel_at_period_end, cancel_at: sub.cancel_at, canceled_at: sub.canceled_at };
  Object.assign(
    sub,
    cancel
      ? { cancel_at_period_end: true, cancel_at: periodEnd(sub), canceled_at: unixNow() }
      : { cancel_at_period_end: false, cancel_at: null, canceled_at: null },
  );
  return state.recordEvent('customer.subscription.updated', sub, { subscriptionId: id }, previous);
}

const day = (t: number) => new Date(t * 1000).toUTCString().slice(5, 16);

/** Moves the item to another price; `prices` are the account's unit amounts (cents). */
export function changeItemPrice(
  state: StripeState,
  id: string,
  change: { itemId: string; price: string; proration: Proration },
  prices: ReadonlyMap<string, number>,
): StoredEvent {
  const sub = live(state, id);
  const item = sub.items.data.find((i) => i.id === change.itemId);
  if (!item)
    throw new StripeApiError(400, 'invalid_request_error', `No such subscription item: '${change.itemId}'`, {
      code: 'resource_missing',
      param: 'items[0][id]',
    });
  const newAmount = prices.get(change.price);
  if (newAmount === undefined)
    throw new StripeApiError(400, 'invalid_request_error', `No such price: '${change.price}'`, { code: 'resource_missing', param: 'items[0][price]' });
  if (change.proration === 'always_invoice') {
    // Only the default (billed with the next invoice) and none are emulated; say so rather than pretend.
    throw new StripeApiError(400, 'invalid_request_error', 'The sandbox emulates proration_behavior create_prorations and none only', {
      param: 'proration_behavior',
    });
  }
  const previous = { items: structuredClone(sub.items) };
  const oldPrice = item.price.id;
  if (oldPrice !== change.price && change.proration === 'create_prorations') {
    const now = unixNow();
    const share = Math.max(0, item.current_period_end - now) / Math.max(1, item.current_period_end - item.current_period_start);
    const oldAmount = prices.get(oldPrice) ?? 0;
    const add = (amount: number, description: string, price: string) => {
      const ii = {
        id: stripeId('ii'),
        object: 'invoiceitem' as const,
        amount,
        currency: sub.currency,
        customer: sub.customer,
        subscription: sub.id,
        description,
        proration: true as const,
        period: { start: now, end: item.current_period_end },
        pricing: { type: 'price_details' as const, price_details: { price } },
        date: now,
        livemode: false as const,
      };
      state.pendingInvoiceItems.set(ii.id, ii);
    };
    add(-Math.round(oldAmount * item.quantity * share), `Unused time on ${oldPrice} after ${day(now)}`, oldPrice);
    add(Math.round(newAmount * item.quantity * share), `Remaining time on ${change.price} after ${day(now)}`, change.price);
  }
  item.price = { id: change.price, object: 'price' };
  return state.recordEvent('customer.subscription.updated', sub, { subscriptionId: id }, previous);
}

/** The period ends now: cancelled if it was set to, else renewed with its pending items invoiced. */
export function endPeriod(state: StripeState, id: string): StoredEvent {
  const sub = live(state, id);
  if (sub.cancel_at_period_end) return state.cancelSubscription(id, 'cancellation_requested');
  const previous = { items: structuredClone(sub.items) };
  for (const item of sub.items.data) {
    item.current_period_start = item.current_period_end;
    item.current_period_end += MONTH;
  }
  // They would be lines of the renewal invoice; renewal invoices that succeed are not emulated, so they go.
  for (const [key, ii] of state.pendingInvoiceItems) if (ii.subscription === id) state.pendingInvoiceItems.delete(key);
  return state.recordEvent('customer.subscription.updated', sub, { subscriptionId: id }, previous);
}
