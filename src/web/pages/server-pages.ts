/**
 * A customer's server: status, the live provisioning checklist (server-
 * rendered, then followed over the API's SSE stream by app.js, so a reload
 * resumes from the snapshot), IPs with their DNSBL state and rotation history,
 * and links to DNS, mailboxes, health and mail client settings.
 */
import { html } from 'hono/html';
import { findServer, serverDetail } from '../../servers/views.ts';
import { cancellationOf } from '../../billing/server-subscription.ts';
import { currentWaits } from '../../servers/waits.ts';
import { noticeOf, renderPage } from '../layout.ts';
import { ConflictError } from '../../errors.ts';
import { formatDuration, MARK, STEP_LABELS, stepLabel } from '../step-labels.ts';
import type { WebApp, WebDeps } from '../web-env.ts';
import { inWorkspace } from '../workspace-context.ts';
import { placeOf } from './billing-pages.ts';
import { when, day } from '../dates.ts';

type Detail = Awaited<ReturnType<typeof serverDetail>>;

export const serverTabs = (ws: string, id: string, current: string) => {
  const tab = (path: string, label: string) =>
    html`<li><a href="/w/${ws}/servers/${id}${path}" ${current === path ? html`aria-current="page"` : ''}>${label}</a></li>`;
  return html`<nav aria-label="Server" class="card"><ul class="row">${tab('', 'Overview')}${tab('/dns', 'DNS')}${tab('/mailboxes', 'Mailboxes')}${tab('/addresses', 'Addresses')}${tab('/health', 'Health')}${tab('/backups', 'Backups')}${tab('/maintenance', 'Maintenance')}${tab('/settings', 'Mail client settings')}</ul></nav>`;
};

const ORDER = Object.keys(STEP_LABELS);
/** The plan's order (the table in DESIGN.md), not the database's alphabetical one. */
export const inPlanOrder = <T extends { name: string }>(steps: T[]): T[] =>
  [...steps].sort((a, b) => (ORDER.indexOf(a.name) + 1 || 99) - (ORDER.indexOf(b.name) + 1 || 99));

export function checklist(d: Detail, eventsUrl: string | null) {
  return html`<ol class="checklist" id="checklist" ${eventsUrl ? html`data-events="${eventsUrl}"` : ''} aria-live="off">
    ${inPlanOrder(d.steps).map(
      (
        s,
      ) => html`<li data-step="${s.name}"><span class="mark ${s.status}" aria-hidden="true">${s.status === 'running' || s.status === 'retrying' ? html`<span class="spinner"></span>` : (MARK[s.status] ?? '○')}</span>
      <strong class="label">${stepLabel(s.name)}</strong> <span class="state pill ${s.status}">${s.status}</span>
      <span class="meta hint">${[s.attempt ? `attempt ${s.attempt}` : '', formatDuration(s.durationMs)].filter(Boolean).join(' · ')}</span>
      <div class="err bad">${s.error ?? ''}</div></li>`,
    )}
  </ol>`;
}

export function ipTable(d: Detail) {
  return html`<div class="table-wrap"><table class="responsive"><thead><tr><th>Address</th><th>State</th><th>Blacklists</th><th>History</th></tr></thead><tbody>
    ${d.ips.map(
      (ip) => html`<tr><td data-label="Address"><code>${ip.address}</code> <span class="hint">${ip.family}</span></td>
      <td data-label="State"><span class="pill ${ip.state}">${ip.state}</span></td>
      <td data-label="Blacklists">${ip.listings.length ? html`<span class="bad">listed on ${ip.listings.map((l) => l.zone).join(', ')}</span>` : ip.checkedAt ? html`<span class="ok">clean</span> <span class="hint">checked ${when(ip.checkedAt)}</span>` : 'not checked yet'}</td>
      <td data-label="History">reserved ${day(ip.createdAt)}${ip.releasedAt ? `, released ${day(ip.releasedAt)}` : ''}</td></tr>`,
    )}
  </tbody></table></div>`;
}

export function registerServerPages(web: WebApp, deps: WebDeps): void {
  const sandboxMail = deps.outbox !== null;

  web.get('/w/:ws/servers/:id', async (c) => {
    const page = await inWorkspace(deps, c, 'servers.read');
    const server = await findServer(deps.api.db, c.req.param('id'), page.workspace.id);
    const [d, waits, cancelled] = await Promise.all([
      serverDetail(deps.api.db, server, { withLogs: false }),
      currentWaits(deps.api.db, server.id),
      cancellationOf(deps.api.db, server),
    ]);
    const ws = page.workspace.id;
    // Only a running run streams: the stream ends at once otherwise, and the page would reload in a loop.
    const live = d.run?.status === 'running';
    const canRecheck = page.can('servers.recheck');
    return renderPage(c, {
      title: d.domain,
      user: c.get('user'),
      workspace: page.workspace,
      sandboxMail,
      notice: noticeOf(c),
      body: html`${serverTabs(ws, d.id, '')}
      <div class="grid"><section class="card" aria-labelledby="facts-h"><h2 id="facts-h">Server</h2><dl class="facts">
        <dt>Status</dt><dd><span id="server-status" class="pill ${d.status}">${d.status}</span>${d.statusReason ? html`<div>${d.statusReason}</div>` : ''}</dd>
        <dt>Hostname</dt><dd><code>${d.hostname}</code></dd><dt>Region</dt><dd>${placeOf(d.zone)}</dd><dt>Plan</dt><dd>${d.plan}${
          cancelled
            ? html`<div class="warn" id="server-cancelled">Cancelled: runs until ${cancelled.endsAt ? day(cancelled.endsAt.toISOString()) : 'the end of the period'}, then suspended, and deleted ${Math.round(deps.api.config.billing.graceMs / 86_400_000)} days later.
          ${page.can('billing.cancel') ? html`<a href="/w/${ws}/billing">Undo in Billing</a>` : 'An owner can undo it in Billing.'}</div>`
            : ''
        }</dd>
        <dt>Created</dt><dd>${when(d.createdAt)}</dd></dl></section>
      ${
        d.warnings.length || waits.length
          ? html`<section class="card" aria-labelledby="warn-h"><h2 id="warn-h">${waits.some((w) => w.party === 'customer') ? 'Waiting for you' : 'Needs attention'}</h2><ul>
        ${waits.map((w) => html`<li class="warn"><strong>${w.message}</strong> ${w.action} <span class="hint">${w.party === 'customer' ? 'Your move' : 'Our operations team is on it'}; waiting since ${when(w.since)}, next check ${w.nextCheckAt.slice(11, 16)} UTC.</span></li>`)}
        ${d.warnings.map((w) => html`<li class="warn">${w.message}</li>`)}</ul>
        <p><a href="/w/${ws}/servers/${d.id}/dns">See the DNS values to set</a></p>
        ${waits.length && canRecheck ? html`<form method="post" action="/w/${ws}/servers/${d.id}/recheck"><button type="submit">I have done it: check now</button></form>` : ''}</section>`
          : ''
      }</div>
      <section class="card" aria-labelledby="run-h"><h2 id="run-h">${d.run?.kind === 'rotate_ip' ? 'IP rotation' : d.run?.kind === 'rotate_dkim' ? 'DKIM rotation' : d.run?.kind === 'roll_tls_key' ? 'TLS key rollover' : d.run?.kind === 'deprovision' ? 'Removal' : d.run?.kind === 'rebuild' ? 'Rebuild' : 'Installation'} checklist</h2>
        ${d.run ? html`<p class="hint">Run ${d.run.status}${d.run.finishedAt ? `, finished ${when(d.run.finishedAt)}` : ''}.${live ? ' This list updates live.' : ''}</p>${d.run.error ? html`<p class="error">${d.run.error}</p>` : ''}` : html`<p>No run yet.</p>`}
        ${checklist(d, live ? `/v1/workspaces/${ws}/servers/${d.id}/events` : null)}</section>
      <section aria-labelledby="ip-h"><h2 id="ip-h">IP addresses</h2>${d.ips.length ? ipTable(d) : html`<p>None yet.</p>`}</section>`,
    });
  });

  web.post('/w/:ws/servers/:id/recheck', async (c) => {
    const page = await inWorkspace(deps, c, 'servers.recheck');
    const server = await findServer(deps.api.db, c.req.param('id'), page.workspace.id);
    let notice = 'rechecking';
    try {
      await deps.p.engine.recheckWaiting(c.get('actor'), server.id);
    } catch (err) {
      // The wait ended between the page and the click: say so; anything else is an error.
      if (!(err instanceof ConflictError)) throw err;
      notice = 'nothing_waiting';
    }
    return c.redirect(`/w/${page.workspace.id}/servers/${server.id}?notice=${notice}`, 303);
  });
}
