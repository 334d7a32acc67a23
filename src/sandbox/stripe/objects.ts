/**
 * The Stripe objects the emulator serves, shaped like the API's JSON (only the
 * fields mailplane or a reader of the event might look at; the rest of Stripe's
 * many fields are left out rather than faked).
 */
export const API_VERSION = '2026-10-28.endive';

export type SessionStatus = 'open' | 'complete' | 'expired';
export type SubscriptionStatus = 'incomplete' | 'trialing' | 'active' | 'past_due' | 'canceled' | 'unpaid' | 'paused';

export interface StripeCheckoutSession {
  id: string;
  object: 'checkout.session';
  mode: 'subscription' | 'payment' | 'setup';
  status: SessionStatus;
  payment_status: 'unpaid' | 'paid' | 'no_payment_required';
  url: string | null;
  client_reference_id: string | null;
  customer: string | null;
  customer_email: string | null;
  customer_details: { email: string | null } | null;
  subscription: string | null;
  metadata: Record<string, string>;
  success_url: string | null;
  cancel_url: string | null;
  currency: string;
  created: number;
  expires_at: number;
  livemode: false;
}

export interface StripeSubscriptionItem {
  id: string;
  object: 'subscription_item';
  price: { id: string; object: 'price' };
  quantity: number;
  subscription: string;
  current_period_start: number;
  current_period_end: number;
}

export interface StripeSubscription {
  id: string;
  object: 'subscription';
  customer: string;
  status: SubscriptionStatus;
  metadata: Record<string, string>;
  items: { object: 'list'; data: StripeSubscriptionItem[]; has_more: false; url: string };
  collection_method: 'charge_automatically';
  cancel_at_period_end: boolean;
  canceled_at: number | null;
  ended_at: number | null;
  cancellation_details: { reason: string | null; comment: string | null; feedback: string | null };
  currency: string;
  start_date: number;
  created: number;
  livemode: false;
}

export interface StripeCustomer {
  id: string;
  object: 'customer';
  email: string | null;
  created: number;
  livemode: false;
}

export interface StripeEvent {
  id: string;
  object: 'event';
  api_version: string;
  created: number;
  type: string;
  data: { object: StripeCheckoutSession | StripeSubscription; previous_attributes?: Record<string, unknown> };
  livemode: false;
  pending_webhooks: number;
  request: { id: string | null; idempotency_key: string | null };
}

/** What mailplane asked for but Stripe only shows through expansions; kept for inspection. */
export interface SessionRequest {
  lineItems: { price: string; quantity: number }[];
  subscriptionData: { metadata: Record<string, string> };
}
