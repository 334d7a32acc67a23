/**
 * The money side of the emulator: the first invoice of a subscription, the
 * PaymentIntent and charge that pay it, and refunds of that charge. Refusals
 * are Stripe's: a PaymentIntent without a successful charge cannot be refunded,
 * a fully refunded charge answers 400 charge_already_refunded, and a refund
 * larger than what is left on the charge is refused.
 */
import type { StripeCharge, StripeInvoice, StripeInvoicePayment, StripePaymentIntent, StripeRefund } from './objects.ts';
import { StripeApiError, stripeId, unixNow } from './wire.ts';

/** How the checkout was paid: by card (settled now), by SEPA debit (settles later), or nothing to pay (100 % discount, trial). */
export type PaymentMethod = 'card' | 'sepa_debit' | 'none';

export interface NewInvoice {
  customer: string;
  subscription: string;
  metadata: Record<string, string>;
  amount: number;
  currency: string;
  method: PaymentMethod;
}

export interface RefundRequest {
  paymentIntent: string | null;
  charge: string | null;
  amount: number | null;
  reason: StripeRefund['reason'];
  metadata: Record<string, string>;
}

export interface PaymentsSnapshot {
  invoices: StripeInvoice[];
  invoicePayments: StripeInvoicePayment[];
  paymentIntents: StripePaymentIntent[];
  charges: StripeCharge[];
  refunds: StripeRefund[];
}

export class StripePayments {
  readonly invoices = new Map<string, StripeInvoice>();
  /** By invoice id: the invoice's `payments` (includable, so kept apart from the invoice). */
  readonly invoicePayments = new Map<string, StripeInvoicePayment[]>();
  readonly paymentIntents = new Map<string, StripePaymentIntent>();
  readonly charges = new Map<string, StripeCharge>();
  readonly refunds = new Map<string, StripeRefund>();

  snapshot(): PaymentsSnapshot {
    return {
      invoices: [...this.invoices.values()],
      invoicePayments: [...this.invoicePayments.values()].flat(),
      paymentIntents: [...this.paymentIntents.values()],
      charges: [...this.charges.values()],
      refunds: [...this.refunds.values()],
    };
  }

  restore(snap: PaymentsSnapshot): void {
    for (const i of snap.invoices) this.invoices.set(i.id, i);
    for (const p of snap.invoicePayments) this.invoicePayments.set(p.invoice, [...(this.invoicePayments.get(p.invoice) ?? []), p]);
    for (const p of snap.paymentIntents) this.paymentIntents.set(p.id, p);
    for (const c of snap.charges) this.charges.set(c.id, c);
    for (const r of snap.refunds) this.refunds.set(r.id, r);
  }

  /** The subscription_create invoice; a card pays it now, a SEPA debit leaves it open until settle(). Returns its id. */
  createFirstInvoice(input: NewInvoice): string {
    const now = unixNow();
    const paid = input.method !== 'sepa_debit';
    const invoice: StripeInvoice = {
      id: stripeId('in'),
      object: 'invoice',
      customer: input.customer,
      status: paid ? 'paid' : 'open',
      billing_reason: 'subscription_create',
      collection_method: 'charge_automatically',
      amount_due: input.amount,
      amount_paid: paid ? input.amount : 0,
      amount_remaining: paid ? 0 : input.amount,
      currency: input.currency,
      parent: {
        type: 'subscription_details',
        subscription_details: { subscription: input.subscription, metadata: { ...input.metadata } },
        quote_details: null,
      },
      created: now,
      livemode: false,
    };
    this.invoices.set(invoice.id, invoice);
    // Nothing to pay (amount 0): Stripe marks the invoice paid without any payment.
    if (input.method === 'none' || input.amount === 0) {
      Object.assign(invoice, { amount_due: 0, amount_paid: 0, amount_remaining: 0 });
      this.invoicePayments.set(invoice.id, []);
      return invoice.id;
    }
    const intent: StripePaymentIntent = {
      id: stripeId('pi'),
      object: 'payment_intent',
      amount: input.amount,
      amount_received: paid ? input.amount : 0,
      currency: input.currency,
      customer: input.customer,
      status: paid ? 'succeeded' : 'processing',
      latest_charge: null,
      payment_method_types: [input.method],
      created: now,
      livemode: false,
    };
    const charge: StripeCharge = {
      id: stripeId('ch'),
      object: 'charge',
      amount: input.amount,
      amount_captured: paid ? input.amount : 0,
      amount_refunded: 0,
      captured: paid,
      currency: input.currency,
      customer: input.customer,
      paid,
      payment_intent: intent.id,
      refunded: false,
      status: paid ? 'succeeded' : 'pending',
      created: now,
      livemode: false,
    };
    intent.latest_charge = charge.id;
    this.paymentIntents.set(intent.id, intent);
    this.charges.set(charge.id, charge);
    this.invoicePayments.set(invoice.id, [
      {
        id: stripeId('inpay'),
        object: 'invoice_payment',
        amount_paid: paid ? input.amount : null,
        amount_requested: input.amount,
        currency: input.currency,
        invoice: invoice.id,
        is_default: true,
        payment: { type: 'payment_intent', payment_intent: intent.id },
        status: paid ? 'paid' : 'open',
        status_transitions: { canceled_at: null, paid_at: paid ? now : null },
        created: now,
        livemode: false,
      },
    ]);
    return invoice.id;
  }

  /**
   * A renewal whose automatic charge failed: an open `subscription_cycle` invoice whose
   * PaymentIntent wants another payment method. Returns its id.
   */
  createFailedRenewal(input: { customer: string; subscription: string; metadata: Record<string, string>; amount: number; currency: string }): string {
    const now = unixNow();
    const invoice: StripeInvoice = {
      id: stripeId('in'),
      object: 'invoice',
      customer: input.customer,
      status: 'open',
      billing_reason: 'subscription_cycle',
      collection_method: 'charge_automatically',
      amount_due: input.amount,
      amount_paid: 0,
      amount_remaining: input.amount,
      currency: input.currency,
      parent: {
        type: 'subscription_details',
        subscription_details: { subscription: input.subscription, metadata: { ...input.metadata } },
        quote_details: null,
      },
      created: now,
      livemode: false,
    };
    const intent: StripePaymentIntent = {
      id: stripeId('pi'),
      object: 'payment_intent',
      amount: input.amount,
      amount_received: 0,
      currency: input.currency,
      customer: input.customer,
      status: 'requires_payment_method',
      latest_charge: null,
      payment_method_types: ['card'],
      created: now,
      livemode: false,
    };
    this.invoices.set(invoice.id, invoice);
    this.paymentIntents.set(intent.id, intent);
    this.invoicePayments.set(invoice.id, [
      {
        id: stripeId('inpay'),
        object: 'invoice_payment',
        amount_paid: null,
        amount_requested: input.amount,
        currency: input.currency,
        invoice: invoice.id,
        is_default: true,
        payment: { type: 'payment_intent', payment_intent: intent.id },
        status: 'open',
        status_transitions: { canceled_at: null, paid_at: null },
        created: now,
        livemode: false,
      },
    ]);
    return invoice.id;
  }

  /** The customer pays an open invoice with a new card (the portal): charge succeeded, invoice paid. */
  payOpenInvoice(invoiceId: string): void {
    const invoice = this.invoices.get(invoiceId);
    const payment = this.invoicePayments.get(invoiceId)?.find((p) => p.status === 'open');
    if (invoice?.status !== 'open' || !payment) throw StripeApiError.invalid(`Invoice ${invoiceId} has nothing left to pay.`);
    const intent = this.paymentIntents.get(payment.payment.payment_intent)!;
    const now = unixNow();
    const charge: StripeCharge = {
      id: stripeId('ch'),
      object: 'charge',
      amount: intent.amount,
      amount_captured: intent.amount,
      amount_refunded: 0,
      captured: true,
      currency: intent.currency,
      customer: intent.customer,
      paid: true,
      payment_intent: intent.id,
      refunded: false,
      status: 'succeeded',
      created: now,
      livemode: false,
    };
    this.charges.set(charge.id, charge);
    Object.assign(intent, { status: 'succeeded', amount_received: intent.amount, latest_charge: charge.id });
    Object.assign(payment, { status: 'paid', amount_paid: intent.amount, status_transitions: { canceled_at: null, paid_at: now } });
    Object.assign(invoice, { status: 'paid', amount_paid: invoice.amount_due, amount_remaining: 0 });
  }

  /** A SEPA debit settles (invoice paid) or bounces (the invoice stays open, the PaymentIntent wants another method). */
  settle(invoiceId: string, outcome: 'succeeded' | 'failed'): void {
    const invoice = this.invoices.get(invoiceId);
    const payment = this.invoicePayments.get(invoiceId)?.find((p) => p.status === 'open');
    if (!invoice || !payment) return;
    const intent = this.paymentIntents.get(payment.payment.payment_intent)!;
    const charge = this.charges.get(intent.latest_charge!)!;
    const now = unixNow();
    if (outcome === 'succeeded') {
      Object.assign(intent, { status: 'succeeded', amount_received: intent.amount });
      Object.assign(charge, { status: 'succeeded', paid: true, captured: true, amount_captured: charge.amount });
      Object.assign(payment, { status: 'paid', amount_paid: intent.amount, status_transitions: { canceled_at: null, paid_at: now } });
      Object.assign(invoice, { status: 'paid', amount_paid: invoice.amount_due, amount_remaining: 0 });
    } else {
      intent.status = 'requires_payment_method';
      charge.status = 'failed';
      Object.assign(payment, { status: 'canceled', status_transitions: { canceled_at: now, paid_at: null } });
    }
  }

  /** The invoice as GET answers it; `withPayments` when `payments` was expanded. */
  invoice(id: string, withPayments: boolean): StripeInvoice {
    const invoice = this.invoices.get(id);
    if (!invoice) throw StripeApiError.missing('invoice', id);
    if (!withPayments) return invoice;
    const data = this.invoicePayments.get(id) ?? [];
    return { ...invoice, payments: { object: 'list', data, has_more: false, url: `/v1/invoices/${id}/payments` } };
  }

  refund(req: RefundRequest): { refund: StripeRefund; charge: StripeCharge } {
    const charge = this.chargeToRefund(req);
    if (charge.refunded)
      throw new StripeApiError(400, 'invalid_request_error', `Charge ${charge.id} has already been refunded.`, { code: 'charge_already_refunded' });
    const left = charge.amount - charge.amount_refunded;
    const amount = req.amount ?? left;
    if (amount > left) {
      throw new StripeApiError(400, 'invalid_request_error', `Refund amount (${amount}) is greater than unrefunded amount on charge (${left})`, {
        param: 'amount',
      });
    }
    const refund: StripeRefund = {
      id: stripeId('re'),
      object: 'refund',
      amount,
      charge: charge.id,
      payment_intent: charge.payment_intent,
      currency: charge.currency,
      metadata: req.metadata,
      reason: req.reason,
      status: 'succeeded',
      balance_transaction: null,
      receipt_number: null,
      created: unixNow(),
      livemode: false,
    };
    this.refunds.set(refund.id, refund);
    charge.amount_refunded += amount;
    charge.refunded = charge.amount_refunded === charge.amount;
    return { refund, charge };
  }

  private chargeToRefund(req: RefundRequest): StripeCharge {
    if (req.paymentIntent) {
      const intent = this.paymentIntents.get(req.paymentIntent);
      if (!intent)
        throw new StripeApiError(404, 'invalid_request_error', `No such payment_intent: '${req.paymentIntent}'`, {
          code: 'resource_missing',
          param: 'payment_intent',
        });
      const charge = intent.latest_charge ? this.charges.get(intent.latest_charge) : undefined;
      if (intent.status !== 'succeeded' || !charge) {
        throw StripeApiError.invalid(`This PaymentIntent (${intent.id}) does not have a successful charge to refund.`, 'payment_intent');
      }
      if (req.charge && req.charge !== charge.id) throw StripeApiError.invalid(`Charge ${req.charge} does not belong to PaymentIntent ${intent.id}.`, 'charge');
      return charge;
    }
    const charge = req.charge ? this.charges.get(req.charge) : undefined;
    if (!charge) throw new StripeApiError(404, 'invalid_request_error', `No such charge: '${req.charge}'`, { code: 'resource_missing', param: 'charge' });
    if (charge.status !== 'succeeded') throw StripeApiError.invalid(`Charge ${charge.id} has not succeeded and cannot be refunded.`, 'charge');
    return charge;
  }
}
