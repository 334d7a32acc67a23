/**
 * The emulator's stand-in for checkout.stripe.com and the customer portal, so a
 * person running the sandbox can pay in a browser: GET /pay/:sessionId shows
 * the order with a Pay button; a subscription page offers "payment fails" and
 * "cancel subscription". Each button runs the same test-control action the
 * tests use and shows what the webhook receiver answered. Plain HTML forms, no
 * scripts; every interpolated value is escaped by hono/html.
 */
import type { Hono } from 'hono';
import { html } from 'hono/html';
import type { HtmlEscapedString } from 'hono/utils/html';
import type { StripeCheckoutSession } from './objects.ts';
import type { StripeState } from './state.ts';
import { SANDBOX_BUYER, type BuyerInput } from './tax-params.ts';
import type { Delivery } from './webhooks.ts';
import { StripeApiError } from './wire.ts';

export interface PageActions {
  completeCheckout(sessionId: string, method?: 'card' | 'sepa_debit', buyer?: BuyerInput): Promise<Delivery>;
  settlePayment(sessionId: string, outcome: 'succeeded' | 'failed'): Promise<Delivery>;
  cancelSubscription(subscriptionId: string): Promise<Delivery>;
  failPayment(subscriptionId: string): Promise<Delivery>;
  endRetries(subscriptionId: string, outcome: 'cancel' | 'unpaid'): Promise<Delivery>;
}

type Html = HtmlEscapedString | Promise<HtmlEscapedString>;

function page(title: string, body: Html): Html {
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${title} · Stripe sandbox</title>
<style>body{font-family:system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem}
dt{font-weight:600}dd{margin:0 0 .6rem}button{font-size:1rem;padding:.5rem 1.2rem;margin:.2rem}
.note{color:#666;font-size:.9rem}</style></head>
<body><p class="note">mailplane sandbox — no real payment is taken.</p><h1>${title}</h1>${body}</body></html>`;
}

function deliveryNote(d: Delivery): Html {
  const outcome = d.status === 0 ? 'was not delivered (receiver unreachable)' : `was answered with HTTP ${d.status}`;
  return html`<p>Webhook <code>${d.type}</code> (<code>${d.eventId}</code>) ${outcome}.</p>`;
}

function metadataList(metadata: Record<string, string>): Html {
  const items = Object.entries(metadata).map(([k, v]) => html`<dt>${k}</dt><dd>${v}</dd>`);
  return html`<dl>${items}</dl>`;
}

const money = (cents: number, currency: string) => new Intl.NumberFormat('en-IE', { style: 'currency', currency: currency.toUpperCase() }).format(cents / 100);

/**
 * The fields Stripe's page adds for tax: the billing address (required, or needed by Stripe Tax to
 * locate the buyer) and an optional VAT ID. Prefilled with a sandbox buyer, as Stripe's test mode
 * offers to autofill; a person may change or clear them and sees the refusal Stripe would give.
 */
function taxFields(session: StripeCheckoutSession): Html {
  const needsAddress = session.billing_address_collection === 'required' || session.automatic_tax.enabled;
  const req = session.billing_address_collection === 'required' ? 'required' : '';
  const address = needsAddress
    ? html`<fieldset><legend>Billing address</legend>
      <label>Name <input name="name" value="${SANDBOX_BUYER.name}" ${req}></label><br>
      <label>Country <input name="country" value="${SANDBOX_BUYER.country}" size="2" maxlength="2" required></label><br>
      <label>Address <input name="line1" value="${SANDBOX_BUYER.line1}" ${req}></label><br>
      <label>Postal code <input name="postal_code" value="${SANDBOX_BUYER.postalCode}" ${req}></label>
      <label>City <input name="city" value="${SANDBOX_BUYER.city}" ${req}></label></fieldset>`
    : '';
  const vat = session.tax_id_collection.enabled
    ? html`<p><label>VAT number (optional, for businesses) <input name="vat_id" placeholder="FRAB123456789"></label></p>`
    : '';
  const tax = session.automatic_tax.enabled ? html`<p class="note">Tax is calculated by Stripe Tax from your billing address.</p>` : '';
  return html`${address}${vat}${tax}`;
}

/** Stripe fills `{CHECKOUT_SESSION_ID}` in the success URL with the session's id. */
const successUrlOf = (url: string, sessionId: string) => url.replaceAll('{CHECKOUT_SESSION_ID}', sessionId);

export function registerHostedPages(app: Hono, state: StripeState, actions: PageActions): void {
  app.get('/pay/:sessionId', (c) => {
    const found = state.sessions.get(c.req.param('sessionId'));
    if (!found) return c.html(page('Checkout not found', html`<p>No such checkout session.</p>`), 404);
    const { session, request } = found;
    if (session.status !== 'open') {
      const manage = session.subscription ? html`<p><a href="/manage/subscriptions/${session.subscription}">Manage the subscription</a></p>` : '';
      const back =
        session.status === 'complete' && session.success_url
          ? html`<p><a href="${successUrlOf(session.success_url, session.id)}">Return to the merchant</a></p>`
          : session.cancel_url
            ? html`<p><a href="${session.cancel_url}">Return to the merchant</a></p>`
            : '';
      return c.html(
        page(session.status === 'complete' ? 'Already paid' : 'Checkout expired', html`<p>This checkout session is ${session.status}.</p>${back}${manage}`),
      );
    }
    const prices = request.lineItems.map((i) => html`<li><code>${i.price}</code> × ${i.quantity}</li>`);
    const cancel = session.cancel_url ? html`<a href="${session.cancel_url}">Cancel and go back</a>` : '';
    return c.html(
      page(
        'Subscribe',
        html`
      <p>For <strong>${session.customer_email ?? (session.customer ? state.customers.get(session.customer)?.email : null) ?? 'unknown customer'}</strong>: <strong>${money(session.amount_total, session.currency)}</strong> per month</p><ul>${prices}</ul>
      ${metadataList(session.metadata)}
      <form method="post" action="/pay/${session.id}">${taxFields(session)}<button type="submit" name="method" value="card">Pay by card</button>
      <button type="submit" name="method" value="sepa_debit">Pay by SEPA Direct Debit</button></form>
      <p class="note">A SEPA debit settles days later: the subscription page then offers "payment succeeds" or "payment fails".</p>${cancel}`,
      ),
    );
  });

  app.post('/pay/:sessionId', async (c) => {
    const sessionId = c.req.param('sessionId');
    const form = await c.req.parseBody();
    const method = form['method'] === 'sepa_debit' ? 'sepa_debit' : 'card';
    const field = (name: string) => (typeof form[name] === 'string' ? form[name] : undefined);
    const buyer: BuyerInput = {
      name: field('name'),
      country: field('country'),
      line1: field('line1'),
      postalCode: field('postal_code'),
      city: field('city'),
      vatId: field('vat_id'),
    };
    let delivery: Delivery;
    try {
      delivery = await actions.completeCheckout(sessionId, method, buyer);
    } catch (err) {
      // Stripe's page keeps the buyer on the form with the reason; nothing was charged.
      if (!(err instanceof StripeApiError)) throw err;
      return c.html(page('Payment not taken', html`<p>${err.message}</p><p><a href="/pay/${sessionId}">Back to the payment page</a></p>`), 400);
    }
    const session = state.session(sessionId);
    // As Stripe's hosted page does: a paid card checkout goes straight back to the merchant. A SEPA
    // debit stays on a page of its own here, for the sandbox's "payment succeeds / fails" controls.
    if (method === 'card' && session.success_url) return c.redirect(successUrlOf(session.success_url, session.id), 303);
    const next = session.success_url ? html`<p><a href="${successUrlOf(session.success_url, session.id)}">Continue to the merchant</a></p>` : '';
    const title = method === 'sepa_debit' ? 'Debit authorised, payment pending' : 'Payment accepted';
    return c.html(
      page(
        title,
        html`${deliveryNote(delivery)}${next}
      <p><a href="/manage/subscriptions/${session.subscription ?? ''}">Manage the subscription</a></p>`,
      ),
    );
  });

  app.get('/manage/subscriptions/:id', (c) => {
    const sub = state.subscriptions.get(c.req.param('id'));
    if (!sub) return c.html(page('Subscription not found', html`<p>No such subscription.</p>`), 404);
    return c.html(subscriptionPage(sub.id, sub.status, sub.metadata, undefined, state.unsettledSessionOf(sub.id)));
  });

  app.post('/manage/subscriptions/:id/settle/:outcome', async (c) => {
    const sub = state.subscription(c.req.param('id'));
    const sessionId = state.unsettledSessionOf(sub.id);
    const outcome = c.req.param('outcome') === 'fails' ? 'failed' : 'succeeded';
    if (!sessionId) return c.html(subscriptionPage(sub.id, sub.status, sub.metadata), 409);
    const delivery = await actions.settlePayment(sessionId, outcome);
    return c.html(subscriptionPage(sub.id, sub.status, sub.metadata, delivery));
  });

  app.post('/manage/subscriptions/:id/fail-payment', async (c) => {
    const delivery = await actions.failPayment(c.req.param('id'));
    const sub = state.subscription(c.req.param('id'));
    return c.html(subscriptionPage(sub.id, sub.status, sub.metadata, delivery));
  });

  // Stripe's Smart Retries of a past_due subscription all failed: what the account's settings say then.
  app.post('/manage/subscriptions/:id/retries-end/:outcome', async (c) => {
    const outcome = c.req.param('outcome') === 'unpaid' ? 'unpaid' : 'cancel';
    let delivery: Delivery;
    try {
      delivery = await actions.endRetries(c.req.param('id'), outcome);
    } catch (err) {
      if (!(err instanceof StripeApiError)) throw err;
      return c.html(page('Not possible', html`<p>${err.message}</p>`), 400);
    }
    const sub = state.subscription(c.req.param('id'));
    return c.html(subscriptionPage(sub.id, sub.status, sub.metadata, delivery));
  });

  // The customer's view of the same subscription: a portal session for its customer, as mailplane opens one.
  app.post('/manage/subscriptions/:id/portal', (c) => {
    const sub = state.subscription(c.req.param('id'));
    const session = state.createPortalSession(sub.customer, null, (id) => `/p/session/${id}`);
    return c.redirect(session.url, 303);
  });

  app.post('/manage/subscriptions/:id/cancel', async (c) => {
    const delivery = await actions.cancelSubscription(c.req.param('id'));
    const sub = state.subscription(c.req.param('id'));
    return c.html(subscriptionPage(sub.id, sub.status, sub.metadata, delivery));
  });
}

function subscriptionPage(id: string, status: string, metadata: Record<string, string>, delivery?: Delivery, unsettled: string | null = null): Html {
  const actions =
    status === 'canceled'
      ? html`<p>This subscription has ended.</p>`
      : unsettled
        ? html`<p>The first payment (SEPA Direct Debit) has not settled yet.</p>
      <form method="post" action="/manage/subscriptions/${id}/settle/succeeds"><button type="submit">Payment succeeds</button></form>
      <form method="post" action="/manage/subscriptions/${id}/settle/fails"><button type="submit">Payment fails</button></form>`
        : html`<form method="post" action="/manage/subscriptions/${id}/fail-payment"><button type="submit">Payment fails</button></form>
      ${
        status === 'past_due'
          ? html`<p class="note">Stripe retries the payment for a while, then does what the account's settings say:</p>
      <form method="post" action="/manage/subscriptions/${id}/retries-end/cancel"><button type="submit">Retries end: cancel the subscription</button></form>
      <form method="post" action="/manage/subscriptions/${id}/retries-end/unpaid"><button type="submit">Retries end: mark it unpaid</button></form>`
          : ''
      }
      <form method="post" action="/manage/subscriptions/${id}/cancel"><button type="submit">Cancel subscription</button></form>`;
  const portal = html`<form method="post" action="/manage/subscriptions/${id}/portal"><button type="submit">Open the customer portal</button></form>`;
  return page(
    'Subscription',
    html`${delivery ? deliveryNote(delivery) : ''}
    <p><code>${id}</code> is <strong>${status}</strong></p>${metadataList(metadata)}${actions}${portal}`,
  );
}
