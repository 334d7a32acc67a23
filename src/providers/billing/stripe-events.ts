/**
 * Turns a verified Stripe event into the few BillingEvent kinds mailplane acts
 * on. The event is read defensively (plain JSON, not trusted to match the SDK's
 * types): a payload signed by Stripe can still come from an API version other
 * than the SDK's, and a malformed one must end as a ValidationError rather than
 * a TypeError deep inside the webhook handler.
 */
import { ValidationError } from '../../errors.ts';
import type { BillingEvent, SubscriptionStatus } from './interface.ts';

type Json = Record<string, unknown>;

const STATUSES: readonly SubscriptionStatus[] = ['incomplete', 'incomplete_expired', 'trialing', 'active', 'past_due', 'canceled', 'unpaid', 'paused'];

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Stripe sends an id, or the whole object when the field was expanded. */
function idOf(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (isObject(value) && typeof value['id'] === 'string') return value['id'];
  return null;
}

function metadataOf(value: unknown): Record<string, string> {
  if (!isObject(value)) return {};
  const out: Record<string, string> = {};
  for (const [key, v] of Object.entries(value)) if (typeof v === 'string') out[key] = v;
  return out;
}

function requireString(obj: Json, key: string, what: string): string {
  const value = obj[key];
  if (typeof value !== 'string' || value === '') throw new ValidationError(`Stripe event: ${what} has no ${key}`);
  return value;
}

export function normalizeStripeEvent(event: unknown): BillingEvent {
  if (!isObject(event)) throw new ValidationError('Stripe event is not a JSON object');
  const id = requireString(event, 'id', 'event');
  const type = requireString(event, 'type', 'event');
  const data = event['data'];
  const object = isObject(data) && isObject(data['object']) ? data['object'] : null;

  switch (type) {
    case 'checkout.session.completed':
    case 'checkout.session.async_payment_succeeded':
    case 'checkout.session.async_payment_failed': {
      if (!object) throw new ValidationError(`Stripe event ${id}: data.object missing`);
      const ref = object['client_reference_id'];
      const paymentStatus = object['payment_status'];
      if (paymentStatus !== 'paid' && paymentStatus !== 'unpaid' && paymentStatus !== 'no_payment_required') {
        throw new ValidationError(`Stripe event ${id}: unknown payment_status ${JSON.stringify(paymentStatus)}`);
      }
      return {
        id,
        type,
        paymentStatus,
        sessionId: requireString(object, 'id', 'checkout session'),
        clientReferenceId: typeof ref === 'string' ? ref : null,
        subscriptionId: idOf(object['subscription']),
        customerId: idOf(object['customer']),
        metadata: metadataOf(object['metadata']),
      };
    }
    case 'customer.subscription.updated':
    case 'customer.subscription.deleted':
    case 'customer.subscription.paused':
    case 'customer.subscription.resumed': {
      if (!object) throw new ValidationError(`Stripe event ${id}: data.object missing`);
      const status = object['status'];
      if (typeof status !== 'string' || !STATUSES.includes(status as SubscriptionStatus)) {
        throw new ValidationError(`Stripe event ${id}: unknown subscription status ${JSON.stringify(status)}`);
      }
      return {
        id,
        type,
        subscriptionId: requireString(object, 'id', 'subscription'),
        status: status as SubscriptionStatus,
        metadata: metadataOf(object['metadata']),
      };
    }
    default:
      return { id, type: 'other', stripeType: type };
  }
}
