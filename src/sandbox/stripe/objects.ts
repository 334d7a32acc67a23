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
  /** What the buyer entered on the page; address and tax_ids only when they were asked for. */
  customer_details: CustomerDetails | null;
  subscription: string | null;
  metadata: Record<string, string>;
  success_url: string | null;
  cancel_url: string | null;
  /** Stripe Tax: `requires_location_inputs` until an address is entered, `complete` once computed. */
  automatic_tax: { enabled: boolean; liability: null; provider: string | null; status: 'requires_location_inputs' | 'complete' | 'failed' | null };
  /** null when not set at creation (Stripe then behaves as `auto`). */
  billing_address_collection: 'auto' | 'required' | null;
  tax_id_collection: { enabled: boolean; required: 'if_supported' | 'never' };
  currency: string;
  /** What the customer pays (the prices' unit amounts × quantities), in the currency's minor unit. */
  amount_total: number;
  created: number;
  expires_at: number;
  livemode: false;
}

export interface StripeAddress {
  city: string | null;
  country: string | null;
  line1: string | null;
  line2: string | null;
  postal_code: string | null;
  state: string | null;
}

export interface CustomerDetails {
  email: string | null;
  name: string | null;
  address: StripeAddress | null;
  tax_exempt: 'none' | 'exempt' | 'reverse';
  tax_ids: { type: string; value: string }[];
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
  /** When a scheduled cancellation takes effect (the period's end with cancel_at_period_end), else null. */
  cancel_at: number | null;
  canceled_at: number | null;
  ended_at: number | null;
  cancellation_details: { reason: string | null; comment: string | null; feedback: string | null };
  /** The invoice of the first payment (later renewals are not emulated). */
  latest_invoice: string | null;
  currency: string;
  start_date: number;
  created: number;
  livemode: false;
}

/** A pending invoice item: here, the proration of a price change, billed with the next invoice. */
export interface StripeInvoiceItem {
  id: string;
  object: 'invoiceitem';
  amount: number;
  currency: string;
  customer: string;
  subscription: string;
  description: string;
  proration: true;
  period: { start: number; end: number };
  pricing: { type: 'price_details'; price_details: { price: string } };
  date: number;
  livemode: false;
}

export interface StripeCustomer {
  id: string;
  object: 'customer';
  email: string | null;
  created: number;
  livemode: false;
}

/**
 * Since API version 2025-03-31.basil an invoice no longer names its payment_intent or charge:
 * they are listed in `payments` (an includable field, sent only when expanded).
 */
export interface StripeInvoice {
  id: string;
  object: 'invoice';
  customer: string;
  status: 'open' | 'paid';
  billing_reason: 'subscription_create' | 'subscription_cycle';
  collection_method: 'charge_automatically';
  amount_due: number;
  amount_paid: number;
  amount_remaining: number;
  currency: string;
  parent: { type: 'subscription_details'; subscription_details: { subscription: string; metadata: Record<string, string> }; quote_details: null };
  payments?: { object: 'list'; data: StripeInvoicePayment[]; has_more: false; url: string };
  created: number;
  livemode: false;
}

export interface StripeInvoicePayment {
  id: string;
  object: 'invoice_payment';
  /** Null until the payment succeeded. */
  amount_paid: number | null;
  amount_requested: number;
  currency: string;
  invoice: string;
  is_default: boolean;
  payment: { type: 'payment_intent'; payment_intent: string };
  status: 'open' | 'paid' | 'canceled';
  status_transitions: { canceled_at: number | null; paid_at: number | null };
  created: number;
  livemode: false;
}

export interface StripePaymentIntent {
  id: string;
  object: 'payment_intent';
  amount: number;
  amount_received: number;
  currency: string;
  customer: string;
  status: 'processing' | 'succeeded' | 'requires_payment_method';
  latest_charge: string | null;
  payment_method_types: string[];
  created: number;
  livemode: false;
}

export interface StripeCharge {
  id: string;
  object: 'charge';
  amount: number;
  amount_captured: number;
  amount_refunded: number;
  captured: boolean;
  currency: string;
  customer: string;
  paid: boolean;
  payment_intent: string;
  /** True once the whole amount is refunded; Stripe then refuses another refund (charge_already_refunded). */
  refunded: boolean;
  status: 'pending' | 'succeeded' | 'failed';
  created: number;
  livemode: false;
}

export interface StripeRefund {
  id: string;
  object: 'refund';
  amount: number;
  charge: string;
  payment_intent: string;
  currency: string;
  metadata: Record<string, string>;
  reason: 'duplicate' | 'fraudulent' | 'requested_by_customer' | null;
  /** Card refunds succeed at once in test mode; bank debits stay pending for days. */
  status: 'pending' | 'succeeded';
  balance_transaction: null;
  receipt_number: null;
  created: number;
  livemode: false;
}

export interface StripeEvent {
  id: string;
  object: 'event';
  api_version: string;
  created: number;
  type: string;
  data: { object: StripeCheckoutSession | StripeSubscription | StripeCharge | StripeRefund; previous_attributes?: Record<string, unknown> };
  livemode: false;
  pending_webhooks: number;
  request: { id: string | null; idempotency_key: string | null };
}

export interface StripePortalSession {
  id: string;
  object: 'billing_portal.session';
  configuration: string;
  created: number;
  customer: string;
  flow: null;
  livemode: false;
  locale: string | null;
  on_behalf_of: null;
  return_url: string | null;
  url: string;
}

/** What mailplane asked for but Stripe only shows through expansions; kept for inspection. */
export interface SessionRequest {
  lineItems: { price: string; quantity: number }[];
  subscriptionData: { metadata: Record<string, string> };
}
