/**
 * The emulator's stand-in for Stripe's customer portal (billing.stripe.com):
 * the page a portal session's URL opens. It lists the customer's subscriptions
 * with their status and open invoice; the customer can "update the card" and
 * pay that invoice (which makes a past_due or unpaid subscription active again,
 * as Stripe does), or cancel at the end of the period (the portal's default).
 * A cancelled subscription is shown as ended: Stripe cannot revive it either.
 * Plain HTML forms, values escaped by hono/html.
 */
import type { Hono } from 'hono';
import { html } from 'hono/html';
import type { HtmlEscapedString } from 'hono/utils/html';
import type { StripePortalSession, StripeSubscription } from './objects.ts';
import type { StripeState } from './state.ts';
import type { Delivery } from './webhooks.ts';
import { StripeApiError } from './wire.ts';

export interface PortalActions {
  payLatestInvoice(subscriptionId: string): Promise<Delivery>;
  cancelAtPeriodEnd(subscriptionId: string): Promise<Delivery>;
  /** "Renew subscription": a cancellation at the period end taken back, as the portal offers. */
  renewSubscription(subscriptionId: string): Promise<Delivery>;
  /** Sandbox only: the period ends now (a test clock), so a person can see what follows. */
  advanceToPeriodEnd(subscriptionId: string): Promise<Delivery>;
}

type Html = HtmlEscapedString | Promise<HtmlEscapedString>;

const money = (cents: number, currency: string) => new Intl.NumberFormat('en-IE', { style: 'currency', currency: currency.toUpperCase() }).format(cents / 100);

function page(title: string, body: Html, status = 200): { body: Html; status: 200 | 400 | 404 } {
  return {
    status: status as 200 | 400 | 404,
    body: html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${title} · Stripe sandbox</title>
<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem}
section{border:1px solid #ddd;border-radius:6px;padding:.5rem 1rem;margin:1rem 0}button{font-size:1rem;padding:.4rem 1rem}
.note{color:#666;font-size:.9rem}</style></head>
<body><p class="note">mailplane sandbox — Stripe customer portal stand-in; no real payment is taken.</p><h1>${title}</h1>${body}</body></html>`,
  };
}

export function registerPortalPages(app: Hono, state: StripeState, actions: PortalActions): void {
  const portal = (id: string) => state.portalSessions.get(id) ?? null;

  const render = (session: StripePortalSession, note: Html | '' = '', status = 200) => {
    const subs = [...state.subscriptions.values()].filter((s) => s.customer === session.customer);
    const back = session.return_url ? html`<p><a href="${session.return_url}">← Return to mailplane</a></p>` : '';
    return page('Manage your billing', html`${note}${subs.map((s) => subscriptionCard(session.id, state, s))}${back}`, status);
  };

  app.get('/p/session/:id', (c) => {
    const session = portal(c.req.param('id'));
    if (!session) {
      const p = page('Session expired', html`<p>This portal link is no longer valid. Open it again from your account.</p>`, 404);
      return c.html(p.body, p.status);
    }
    const p = render(session);
    return c.html(p.body, p.status);
  });

  app.post('/p/session/:id/subscriptions/:sub/:action', async (c) => {
    const session = portal(c.req.param('id'));
    const sub = state.subscriptions.get(c.req.param('sub'));
    // A portal session reaches its own customer's subscriptions only.
    if (!session || !sub || sub.customer !== session.customer) return c.html(page('Not found', html`<p>No such subscription.</p>`, 404).body, 404);
    const action = c.req.param('action');
    try {
      if (action === 'pay') {
        const form = await c.req.parseBody();
        if (typeof form['card'] !== 'string' || !/^\d{12,19}$/.test(form['card'].replace(/\s+/g, '')))
          throw StripeApiError.invalid('Your card number is incomplete.');
        const d = await actions.payLatestInvoice(sub.id);
        const p = render(session, html`<p>Payment received. Webhook <code>${d.type}</code> answered HTTP ${d.status}.</p>`);
        return c.html(p.body, p.status);
      }
      if (action === 'renew' || action === 'end-period') {
        const d = await (action === 'renew' ? actions.renewSubscription(sub.id) : actions.advanceToPeriodEnd(sub.id));
        const p = render(
          session,
          html`<p>${action === 'renew' ? 'Your subscription will renew.' : 'The period has ended (sandbox test clock).'} Webhook <code>${d.type}</code> answered HTTP ${d.status}.</p>`,
        );
        return c.html(p.body, p.status);
      }
      if (action === 'cancel') {
        const d = await actions.cancelAtPeriodEnd(sub.id);
        const p = render(session, html`<p>Your subscription will end at the end of the period. Webhook <code>${d.type}</code> answered HTTP ${d.status}.</p>`);
        return c.html(p.body, p.status);
      }
    } catch (err) {
      if (!(err instanceof StripeApiError)) throw err;
      const p = render(session, html`<p><strong>${err.message}</strong></p>`, 400);
      return c.html(p.body, p.status);
    }
    return c.html(page('Not found', html`<p>Unknown action.</p>`, 404).body, 404);
  });
}

function subscriptionCard(portalId: string, state: StripeState, sub: StripeSubscription): Html {
  const invoice = sub.latest_invoice ? state.payments.invoices.get(sub.latest_invoice) : undefined;
  const end = sub.items.data[0]?.current_period_end;
  const base = `/p/session/${portalId}/subscriptions/${sub.id}`;
  const renews =
    sub.status === 'canceled'
      ? html`<p>This subscription has ended and cannot be restarted.</p>`
      : end
        ? html`<p>${sub.cancel_at_period_end ? 'Ends' : 'Renews'} on ${new Date(end * 1000).toISOString().slice(0, 10)}.</p>`
        : '';
  const pay =
    sub.status !== 'canceled' && invoice?.status === 'open'
      ? html`
    <p>Open invoice <code>${invoice.id}</code>: <strong>${money(invoice.amount_remaining, invoice.currency)}</strong> due.</p>
    <form method="post" action="${base}/pay"><label>New card number <input name="card" value="4242 4242 4242 4242" inputmode="numeric"></label>
    <button type="submit">Update card and pay</button></form>`
      : '';
  const cancel =
    sub.status !== 'canceled' && !sub.cancel_at_period_end
      ? html`<form method="post" action="${base}/cancel"><button type="submit">Cancel subscription</button></form>`
      : '';
  const renew =
    sub.status !== 'canceled' && sub.cancel_at_period_end
      ? html`<form method="post" action="${base}/renew"><button type="submit">Renew subscription</button></form>`
      : '';
  const clock =
    sub.status !== 'canceled'
      ? html`<form method="post" action="${base}/end-period"><button type="submit">Sandbox test clock: end the period now</button></form>`
      : '';
  return html`<section><p><code>${sub.id}</code> (${sub.metadata['domain'] ?? 'subscription'}) is <strong>${sub.status}</strong></p>${renews}${pay}${cancel}${renew}${clock}</section>`;
}
