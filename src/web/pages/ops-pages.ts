/** Ops: alerts (filter by status, kind, severity; acknowledge, resolve), IP rotation, the reconciliation report. */
import { html } from 'hono/html';
import { acknowledgeAlert, ALERT_STATUSES, listAlerts, resolveAlert, type AlertStatus } from '../../ops/alerts.ts';
import { ValidationError } from '../../errors.ts';
import { findDiscrepancies } from '../../ops/reconcile.ts';
import { startIpRotation } from '../../ops/rotation.ts';
import { formOf, refusal } from '../forms.ts';
import { noticeOf, renderPage } from '../layout.ts';
import type { WebApp, WebContext, WebDeps } from '../web-env.ts';
import { requireStaffPage } from '../web-session.ts';
import { when } from '../dates.ts';

const SEVERITIES = ['info', 'warning', 'critical'] as const;

/**
 * A listed IP's remedy is on its alert: rotating it (a `rotate_ip` run: a clean address reserved
 * and checked, DNS and PTR re-pointed, the listed one released, which resolves the alert).
 */
function rotateAction(a: { kind: string; serverId: string | null; details: Record<string, unknown>; id: string }) {
  const address = a.details['address'];
  if (a.kind !== 'ip_listed' || !a.serverId || typeof address !== 'string') return '';
  const zones = Array.isArray(a.details['zones']) ? (a.details['zones'] as Array<{ zone: string }>).map((z) => z.zone) : [String(a.details['zone'] ?? '')];
  return html`<form method="post" action="/ops/servers/${a.serverId}/ips/${address}/rotate" data-confirm="Replace ${address}? DNS and reverse DNS are re-pointed; the old address is released.">
    <input type="hidden" name="reason" value="${`listed on ${zones.join(', ')} (alert ${a.id})`.slice(0, 200)}"><button type="submit">Rotate this IP (${address})</button></form>`;
}

export function registerOpsPages(web: WebApp, deps: WebDeps): void {
  const sandboxMail = deps.outbox !== null;
  web.use('/ops/*', requireStaffPage(['ops']));

  const alertsPage = async (c: WebContext, error: string | null = null) => {
    const q = (k: string) => c.req.query(k) ?? '';
    const status = (ALERT_STATUSES as readonly string[]).includes(q('status')) ? (q('status') as AlertStatus) : q('status') === 'any' ? undefined : 'open';
    const kind = /^[a-z_]{1,40}$/.test(q('kind')) ? q('kind') : undefined;
    const severity = (SEVERITIES as readonly string[]).includes(q('severity')) ? q('severity') : undefined;
    const rows = (await listAlerts(deps.api.db, { limit: 200, ...(status ? { status } : {}), ...(kind ? { kind } : {}) })).filter(
      (a) => !severity || a.severity === severity,
    );
    return renderPage(c, {
      title: 'Alerts',
      user: c.get('user'),
      sandboxMail,
      error,
      notice: noticeOf(c),
      status: error ? 409 : 200,
      body: html`<p><a href="/ops/reconcile">Reconciliation report</a> · <a href="/ops/fleet">Fleet versions and rollouts</a></p>
      <form method="get" action="/ops/alerts" class="row card">
        <div><label for="f-status">Status</label><select id="f-status" name="status">${[...ALERT_STATUSES, 'any'].map((s) => html`<option value="${s}" ${s === (status ?? 'any') ? 'selected' : ''}>${s}</option>`)}</select></div>
        <div><label for="f-kind">Kind</label><input id="f-kind" name="kind" value="${kind ?? ''}" placeholder="ip_listed"></div>
        <div><label for="f-severity">Severity</label><select id="f-severity" name="severity"><option value="">any</option>${SEVERITIES.map((s) => html`<option value="${s}" ${s === severity ? 'selected' : ''}>${s}</option>`)}</select></div>
        <div><button type="submit">Filter</button></div></form>
      ${
        rows.length === 0
          ? html`<p>No alert matches.</p>`
          : html`<div class="table-wrap"><table class="responsive"><thead><tr><th>Opened</th><th>Severity</th><th>Alert</th><th>Server</th><th>Actions</th></tr></thead><tbody>
        ${rows.map(
          (a) => html`<tr><td data-label="Opened">${when(a.openedAt)}</td><td data-label="Severity"><span class="pill ${a.severity}">${a.severity}</span></td>
          <td data-label="Alert"><strong>${a.kind}</strong>: ${a.message}${a.acknowledgedAt ? html`<div class="hint">acknowledged ${when(a.acknowledgedAt)}</div>` : ''}${a.resolvedAt ? html`<div class="hint">resolved ${when(a.resolvedAt)}</div>` : ''}</td>
          <td data-label="Server">${a.serverId ? html`<a href="/support/servers/${a.serverId}">${a.serverId.slice(0, 8)}</a>` : '—'}</td>
          <td data-label="Actions" class="actions">${
            a.resolvedAt
              ? ''
              : html`${a.acknowledgedAt ? '' : html`<form method="post" action="/ops/alerts/${a.id}/acknowledge"><button type="submit" class="secondary">Acknowledge ${a.kind}</button></form>`}
            <form method="post" action="/ops/alerts/${a.id}/resolve"><button type="submit">Resolve ${a.kind}</button></form>${rotateAction(a)}`
          }</td></tr>`,
        )}
      </tbody></table></div>`
      }`,
    });
  };

  web.get('/ops/alerts', (c) => alertsPage(c));
  web.post('/ops/alerts/:id/acknowledge', async (c) => {
    try {
      await acknowledgeAlert(deps.ops, c.get('actor'), c.req.param('id'));
    } catch (err) {
      return alertsPage(c, refusal(err));
    }
    return c.redirect('/ops/alerts?notice=acknowledged', 303);
  });
  web.post('/ops/alerts/:id/resolve', async (c) => {
    try {
      await resolveAlert(deps.ops, c.get('actor'), c.req.param('id'));
    } catch (err) {
      return alertsPage(c, refusal(err));
    }
    return c.redirect('/ops/alerts?notice=resolved', 303);
  });

  web.post('/ops/servers/:id/ips/:ip/rotate', async (c) => {
    const reason = ((await formOf(c))['reason'] ?? '').trim();
    const serverId = c.req.param('id');
    try {
      if (reason.length < 3) throw new ValidationError('Give a reason for the rotation (at least 3 characters).');
      await startIpRotation(deps.ops, c.get('actor'), { serverId, address: c.req.param('ip'), reason });
    } catch (err) {
      return renderPage(c, {
        title: 'Rotation refused',
        user: c.get('user'),
        sandboxMail,
        error: refusal(err),
        status: 409,
        body: html`<p><a href="/support/servers/${serverId}">Back to the server</a></p>`,
      });
    }
    return c.redirect(`/support/servers/${serverId}?notice=rotation_started`, 303);
  });

  web.get('/ops/reconcile', async (c) => {
    const findings = await findDiscrepancies(deps.ops);
    return renderPage(c, {
      title: 'Reconciliation report',
      user: c.get('user'),
      sandboxMail,
      body: html`<p>Provider resources tagged <code>mailplane</code> compared with the database, now. Orphans cost money; ghosts need a decision. <code>mailplane reconcile --apply</code> deletes orphans.</p>
      ${
        findings.length === 0
          ? html`<p class="notice">Everything at the provider is accounted for.</p>`
          : html`<div class="table-wrap"><table class="responsive"><thead><tr><th>Kind</th><th>Resource</th><th>Zone</th><th>Server</th><th>What</th></tr></thead><tbody>
        ${findings.map(
          (
            f,
          ) => html`<tr><td data-label="Kind"><span class="pill ${f.kind === 'orphan' ? 'warn' : 'bad'}">${f.kind}</span></td><td data-label="Resource">${f.resource} <code>${f.providerId ?? ''}</code></td><td data-label="Zone">${f.zone}</td>
          <td data-label="Server">${f.serverId ? html`<a href="/support/servers/${f.serverId}">${f.serverId.slice(0, 8)}</a>` : '—'}</td><td data-label="What">${f.description}</td></tr>`,
        )}
      </tbody></table></div>`
      }`,
    });
  });
}
