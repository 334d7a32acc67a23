/**
 * Subscribe: plan (with its price), EU region (with where it is), domain; then
 * Stripe's hosted checkout, and back at /checkout/done or /checkout/cancelled.
 * The done page waits for Stripe's webhook (which creates the server) and
 * then sends the customer to the server's live checklist. Billing: each
 * subscription's plan, status and next invoice, and "Manage billing", which
 * opens Stripe's customer portal (card, invoices, cancel) and comes back here.
 */
import { eq } from 'drizzle-orm';
import { html } from 'hono/html';
import { billingOverview, openBillingPortal, type BillingLine } from '../../billing/account.ts';
import { startCheckout } from '../../billing/checkout.ts';
import { DomainSchema } from '../../billing/domain-name.ts';
import { checkouts, servers, subscriptions } from '../../db/schema/index.ts';
import { NotFoundError } from '../../errors.ts';
import { authorizeWorkspace } from '../../workspaces/access.ts';
import { field, formOf, refusal } from '../forms.ts';
import { noticeOf, renderPage } from '../layout.ts';
import type { WebApp, WebContext, WebDeps } from '../web-env.ts';
import { inWorkspace } from '../workspace-context.ts';
import { day } from '../dates.ts';
import { mailboxQuotaMb } from '../../config.ts';

export const REGION_PLACES: Record<string, string> = {
  'fr-par': 'Paris, France',
  'nl-ams': 'Amsterdam, the Netherlands',
  'pl-waw': 'Warsaw, Poland',
};
export const placeOf = (zone: string) => `${REGION_PLACES[zone.slice(0, 6)] ?? zone} (${zone})`;
const price = (cents: number | undefined, currency: string) =>
  cents === undefined
    ? 'see Stripe checkout'
    : `${new Intl.NumberFormat('en-IE', { style: 'currency', currency: currency.toUpperCase() }).format(cents / 100)} per month`;

/** What the status means for the customer, in words. */
function standing(line: BillingLine): string {
  if (line.graceEndsAt) return `Ended: the server and its mail are kept until ${day(line.graceEndsAt)}, then deleted. Pay the open invoice to keep them.`;
  if (line.status === 'past_due') return 'Payment failed: Stripe tries again over the next days. Update your card or pay the open invoice.';
  if (line.cancelAtPeriodEnd)
    return `Cancelled: the server runs until ${line.periodEndsAt ? day(line.periodEndsAt) : 'the end of the current period'}, then it is suspended and later deleted. An owner can undo this until then.`;
  return '';
}

const RUNNING = new Set(['active', 'trialing', 'past_due']);

/** An owner's actions on one server's subscription: change the plan, cancel, or undo a cancellation. */
function ownerActions(ws: string, l: BillingLine) {
  if (!l.serverId || !RUNNING.has(l.status)) return '';
  const base = `/w/${ws}/billing/servers/${l.serverId}`;
  if (l.cancelAtPeriodEnd) return html`<form method="post" action="${base}/resume"><button type="submit">Undo the cancellation</button></form>`;
  // A plan change waits for the open invoice to be paid (change-plan.ts refuses it while past_due).
  const plan = l.status === 'past_due' ? '' : html`<a class="button" href="${base}/plan">Change plan</a> `;
  return html`${plan}<a class="button danger" href="${base}/cancel">Cancel this server</a>`;
}

function billingRows(ws: string, lines: BillingLine[], owner: boolean) {
  return lines.map(
    (l) => html`<tr>
    <td data-label="Server">${l.serverId ? html`<a href="/w/${ws}/servers/${l.serverId}">${l.domain}</a>` : (l.domain ?? '—')}</td>
    <td data-label="Plan">${l.plan.name}<div class="hint">${price(l.plan.monthlyPriceCents ?? undefined, l.plan.currency)}</div></td>
    <td data-label="Status"><span class="pill ${l.status}">${l.status.replaceAll('_', ' ')}</span><div class="hint">${standing(l)}</div></td>
    <td data-label="Next invoice">${l.nextInvoiceAt ? html`${day(l.nextInvoiceAt)}<div class="hint">${price(l.plan.monthlyPriceCents ?? undefined, l.plan.currency)}</div>` : '—'}</td>
    <td><form method="post" action="/w/${ws}/billing/portal"><input type="hidden" name="subscription" value="${l.subscriptionId}"><button type="submit">Manage billing</button></form>
      ${owner ? ownerActions(ws, l) : ''}</td></tr>`,
  );
}

export function registerBillingPages(web: WebApp, deps: WebDeps): void {
  const sandboxMail = deps.outbox !== null;
  const { plans, zones } = deps.api.config.product;

  const subscribePage = async (c: WebContext, error: string | null = null, v: Record<string, string> = {}) => {
    const page = await inWorkspace(deps, c, 'servers.checkout');
    // Only zones that sell a plan's instance type, each with the plans it sells (checkout refuses the others too).
    const sold = await Promise.all(plans.map(async (p) => ({ plan: p, zones: (await deps.p.placements.sellableZones(p)).map((z) => z.zone) })));
    const plansIn = (z: string) => sold.filter((s) => s.zones.includes(z)).map((s) => s.plan.name);
    const offered = zones.filter((z) => plansIn(z).length > 0);
    const chosenPlan = v['plan'] ?? plans[0]?.id;
    const chosenZone = v['region'] ?? offered[0];
    return renderPage(c, {
      title: 'Subscribe to a mail server',
      user: c.get('user'),
      workspace: page.workspace,
      sandboxMail,
      error,
      status: error ? 400 : 200,
      body: html`<form method="post" action="/w/${page.workspace.id}/subscribe" class="stack card">
        <fieldset><legend>Plan</legend>${plans.map(
          (p) => html`<div><input type="radio" id="plan-${p.id}" name="plan" value="${p.id}" ${p.id === chosenPlan ? 'checked' : ''}>
          <label for="plan-${p.id}" class="inline"><strong>${p.name}</strong>: ${price(p.monthlyPriceCents, p.currency)}; ${p.mailboxes} mailboxes sharing ${p.storageGb} GB (up to ${mailboxQuotaMb(p) / 1024} GB each), ${p.messagesPerHour} messages per hour</label></div>`,
        )}</fieldset>
        <fieldset><legend>Region (your server and your mail stay there)</legend>${offered.map(
          (z) => html`<div><input type="radio" id="zone-${z}" name="region" value="${z}" ${z === chosenZone ? 'checked' : ''}>
          <label for="zone-${z}" class="inline">${placeOf(z)}${plansIn(z).length < plans.length ? `: ${plansIn(z).join(', ')} only` : ''}</label></div>`,
        )}</fieldset>
        ${field({ name: 'domain', label: 'Your domain', value: v['domain'] ?? '', hint: 'A domain you registered (e.g. yourcompany.eu), not a subdomain; mail will be served by mail.<domain>. You will move its nameservers to us.' })}
        <div><button type="submit">Continue to payment</button></div>
      </form>`,
    });
  };

  web.get('/w/:ws/subscribe', (c) => subscribePage(c));
  web.post('/w/:ws/subscribe', async (c) => {
    const page = await inWorkspace(deps, c, 'servers.checkout');
    const form = await formOf(c);
    const domain = DomainSchema.safeParse(form['domain'] ?? '');
    if (!domain.success) return subscribePage(c, 'Enter a domain name you own, like yourcompany.eu.', form);
    try {
      const { checkoutUrl } = await startCheckout(
        { db: deps.api.db, billing: deps.p.billing, config: deps.api.config, placements: deps.p.placements },
        c.get('actor'),
        page.access,
        c.get('user').id,
        { plan: form['plan'] ?? '', region: form['region'] ?? '', domain: domain.data },
      );
      return c.redirect(checkoutUrl, 303);
    } catch (err) {
      return subscribePage(c, refusal(err), form);
    }
  });

  web.get('/w/:ws/billing', async (c) => {
    const page = await inWorkspace(deps, c, 'billing.read');
    const lines = await billingOverview(deps.api.db, deps.api.config, page.workspace.id);
    return renderPage(c, {
      title: 'Billing',
      user: c.get('user'),
      workspace: page.workspace,
      sandboxMail,
      notice: noticeOf(c),
      body:
        lines.length === 0
          ? html`<div class="card"><p>No subscription yet.</p><p><a class="button" href="/w/${page.workspace.id}/subscribe">Subscribe to a mail server</a></p></div>`
          : html`<div class="table-wrap"><table class="responsive"><thead><tr><th>Server</th><th>Plan</th><th>Status</th><th>Next invoice</th><th>Actions</th></tr></thead><tbody>${billingRows(page.workspace.id, lines, page.can('billing.cancel'))}</tbody></table></div>
          <p class="hint">"Manage billing" opens Stripe's customer portal: change the card, pay an open invoice, download past invoices.
          Owners can change a server's plan (prorated by Stripe) or cancel one server: it runs until the end of the period paid for, is then suspended and kept
          ${Math.round(deps.api.config.billing.graceMs / 86_400_000)} days with a final backup before it is deleted; the cancellation can be undone until the period ends.</p>`,
    });
  });

  web.post('/w/:ws/billing/portal', async (c) => {
    const page = await inWorkspace(deps, c, 'billing.manage');
    const form = await formOf(c);
    const chosen = form['subscription'] && /^[0-9a-f-]{36}$/i.test(form['subscription']) ? form['subscription'] : undefined;
    const { url } = await openBillingPortal(
      { db: deps.api.db, billing: deps.p.billing, publicUrl: deps.api.config.http.publicUrl },
      c.get('actor'),
      page.workspace.id,
      chosen,
    );
    return c.redirect(url, 303);
  });

  const loadCheckout = async (c: WebContext) => {
    const id = c.req.query('checkout') ?? '';
    const [row] = /^[0-9a-f-]{36}$/i.test(id) ? await deps.api.db.select().from(checkouts).where(eq(checkouts.id, id)) : [];
    if (!row) throw new NotFoundError('Checkout');
    // The API's rule: a checkout of a workspace you are not in does not exist for you.
    await authorizeWorkspace(deps.api.db, c.get('principal'), row.workspaceId, 'servers.read');
    return row;
  };

  web.get('/checkout/done', async (c) => {
    const checkout = await loadCheckout(c);
    const [server] = await deps.api.db
      .select({ id: servers.id })
      .from(servers)
      .innerJoin(subscriptions, eq(subscriptions.id, servers.subscriptionId))
      .where(eq(subscriptions.checkoutId, checkout.id));
    if (server) return c.redirect(`/w/${checkout.workspaceId}/servers/${server.id}`, 303);
    // Paid for a server that cannot exist (the domain was taken meanwhile): say so instead of waiting forever.
    if (checkout.status === 'refused' || checkout.status === 'refunded') {
      return renderPage(c, {
        title: 'Payment refunded',
        user: c.get('user'),
        sandboxMail,
        body: html`<div class="card"><p>This payment cannot start a server for <strong>${checkout.domain}</strong>: another server already serves it, or this checkout had been replaced by a newer one.
          ${checkout.status === 'refunded' ? 'The subscription is cancelled and your payment refunded; we sent you a mail about it.' : 'We are cancelling the subscription and refunding your payment; you will get a mail when it is done.'}</p>
          <p><a href="/w/${checkout.workspaceId}">Back to the workspace</a></p></div>`,
      });
    }
    return renderPage(c, {
      title: 'Payment received',
      user: c.get('user'),
      sandboxMail,
      body: html`<div class="card" data-refresh="2"><p>Thank you. We are waiting for Stripe to confirm the payment for <strong>${checkout.domain}</strong>;
        this page moves on to your server's installation checklist by itself.</p>
        <p><a href="/checkout/done?checkout=${checkout.id}">Check again</a> · <a href="/w/${checkout.workspaceId}">Back to the workspace</a></p></div>`,
    });
  });

  web.get('/checkout/cancelled', async (c) => {
    const checkout = await loadCheckout(c);
    return renderPage(c, {
      title: 'Checkout cancelled',
      user: c.get('user'),
      sandboxMail,
      body: html`<div class="card"><p>Nothing was charged and no server was created for <strong>${checkout.domain}</strong>.</p>
        <p><a class="button" href="/w/${checkout.workspaceId}/subscribe">Try again</a> <a href="/w/${checkout.workspaceId}">Back to the workspace</a></p></div>`,
    });
  });
}
