/**
 * One server's subscription on the dashboard (owners): cancel it at the end of the period, with
 * the domain name typed to confirm; undo that; change the plan, with what each plan includes and
 * what a change does to the server (a rebuild onto another size, a backup first). The same domain
 * functions as the API's routes; a refusal is shown on the page it came from.
 */
import { html } from 'hono/html';
import { changePlan } from '../../billing/change-plan.ts';
import { cancelServer, serverSubscription, undoCancellation } from '../../billing/server-subscription.ts';
import { mailboxQuotaMb } from '../../config.ts';
import { formOf, field, refusal } from '../forms.ts';
import { renderPage } from '../layout.ts';
import type { WebApp, WebContext, WebDeps } from '../web-env.ts';
import { inWorkspace } from '../workspace-context.ts';
import { day } from '../dates.ts';

const money = (cents: number | undefined, currency: string) =>
  cents === undefined ? '' : `, ${new Intl.NumberFormat('en-IE', { style: 'currency', currency: currency.toUpperCase() }).format(cents / 100)} per month`;

export function registerServerBillingPages(web: WebApp, deps: WebDeps): void {
  const sandboxMail = deps.outbox !== null;
  const billingDeps = () => ({ database: deps.p.database, billing: deps.p.billing, queue: deps.p.queue, clock: deps.api.clock });
  const graceDays = Math.round(deps.api.config.billing.graceMs / 86_400_000);
  const { plans } = deps.api.config.product;

  const cancelPage = async (c: WebContext, error: string | null = null) => {
    const page = await inWorkspace(deps, c, 'billing.cancel');
    const { server, sub } = await serverSubscription(deps.api.db, page.workspace.id, c.req.param('id') ?? '');
    const ends = sub.currentPeriodEnd ? day(sub.currentPeriodEnd.toISOString()) : 'the end of the current period';
    return renderPage(c, {
      title: `Cancel ${server.domain}`,
      user: c.get('user'),
      workspace: page.workspace,
      sandboxMail,
      error,
      status: error ? 400 : 200,
      body: html`<form method="post" action="/w/${page.workspace.id}/billing/servers/${server.id}/cancel" class="stack card">
        <p>The subscription for <strong>${server.domain}</strong> ends on <strong>${ends}</strong>; nothing more is charged. Until then the server runs as now.</p>
        <p>After that date it is suspended: mail is no longer accepted and nobody can sign in. Its mail and a final backup are kept ${graceDays} days, then deleted for good.
          You can undo the cancellation here until ${ends}.</p>
        ${field({ name: 'confirmDomain', label: `Type ${server.domain} to confirm`, autocomplete: 'off', required: true })}
        <div><button type="submit" class="danger">Cancel this server</button> <a href="/w/${page.workspace.id}/billing">Keep it</a></div></form>`,
    });
  };

  web.get('/w/:ws/billing/servers/:id/cancel', (c) => cancelPage(c));
  web.post('/w/:ws/billing/servers/:id/cancel', async (c) => {
    const page = await inWorkspace(deps, c, 'billing.cancel');
    const form = await formOf(c);
    try {
      await cancelServer(billingDeps(), c.get('actor'), page.access, c.req.param('id'), form['confirmDomain'] ?? '');
    } catch (err) {
      return cancelPage(c, refusal(err));
    }
    return c.redirect(`/w/${page.workspace.id}/billing?notice=server_cancelled`, 303);
  });

  web.post('/w/:ws/billing/servers/:id/resume', async (c) => {
    const page = await inWorkspace(deps, c, 'billing.cancel');
    try {
      await undoCancellation(billingDeps(), c.get('actor'), page.access, c.req.param('id'));
    } catch (err) {
      refusal(err); // anything but a refusal (the period has ended meanwhile…) goes on as an error
      return c.redirect(`/w/${page.workspace.id}/billing?notice=cancel_not_undone`, 303);
    }
    return c.redirect(`/w/${page.workspace.id}/billing?notice=cancel_undone`, 303);
  });

  const planPage = async (c: WebContext, error: string | null = null) => {
    const page = await inWorkspace(deps, c, 'billing.change_plan');
    const { server, sub } = await serverSubscription(deps.api.db, page.workspace.id, c.req.param('id') ?? '');
    return renderPage(c, {
      title: `Change the plan of ${server.domain}`,
      user: c.get('user'),
      workspace: page.workspace,
      sandboxMail,
      error,
      status: error ? 409 : 200,
      body: html`<form method="post" action="/w/${page.workspace.id}/billing/servers/${server.id}/plan" class="stack card">
        <fieldset><legend>Plan</legend>${plans.map(
          (p) => html`<div><input type="radio" id="plan-${p.id}" name="plan" value="${p.id}" ${p.id === sub.planId ? 'checked' : ''}>
          <label for="plan-${p.id}" class="inline"><strong>${p.name}</strong>${p.id === sub.planId ? ' (current)' : ''}${money(p.monthlyPriceCents, p.currency)}:
          ${p.mailboxes} mailboxes sharing ${p.storageGb} GB (up to ${mailboxQuotaMb(p) / 1024} GB each), ${p.aliases} aliases, ${p.messagesPerHour} messages per hour</label></div>`,
        )}</fieldset>
        <p class="hint">Stripe prorates: the difference for the rest of this period is on your next invoice. The new limits apply as soon as Stripe confirms the change.
          A plan on a larger (or smaller) server moves yours onto it: a backup is taken first, then the server is rebuilt with the same addresses, keys and mail; mail sent meanwhile waits at the senders.
          A smaller plan needs the server to fit in it (mailboxes, aliases, forwards and storage).</p>
        <div><button type="submit">Change the plan</button> <a href="/w/${page.workspace.id}/billing">Back to billing</a></div></form>`,
    });
  };

  web.get('/w/:ws/billing/servers/:id/plan', (c) => planPage(c));
  web.post('/w/:ws/billing/servers/:id/plan', async (c) => {
    const page = await inWorkspace(deps, c, 'billing.change_plan');
    const form = await formOf(c);
    try {
      await changePlan({ ...billingDeps(), plans, placements: deps.p.placements }, c.get('actor'), page.access, c.req.param('id'), form['plan'] ?? '');
    } catch (err) {
      return planPage(c, refusal(err));
    }
    return c.redirect(`/w/${page.workspace.id}/billing?notice=plan_change_requested`, 303);
  });
}
