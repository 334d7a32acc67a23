/**
 * Support: every server with filters (failed, provisioning, by workspace),
 * one server's runs and steps with logs and errors, re-run a step, resume a
 * run after a confirmation naming what will happen; the server's audit trail
 * is on the page, so every action taken is visible. Ops also rotate IPs here; support and ops
 * rotate DKIM keys and roll the TLS key over (support-key-pages.ts).
 */
import { and, desc, eq, inArray, or } from 'drizzle-orm';
import { html } from 'hono/html';
import { auditLog, provisioningRuns, SERVER_STATUSES, users, type ServerStatus } from '../../db/schema/index.ts';
import { dkimKeysView } from '../../servers/dkim-view.ts';
import { findServer, serverDetail } from '../../servers/views.ts';
import { listServersForSupport } from '../../servers/support-list.ts';
import { LIVE_RERUNS, liveRerunRefusal } from '../../../provisioning/live-reruns.ts';
import { refusal } from '../forms.ts';
import { noticeOf, renderPage } from '../layout.ts';
import { stepLabel } from '../step-labels.ts';
import type { WebApp, WebContext, WebDeps } from '../web-env.ts';
import { requireStaffPage } from '../web-session.ts';
import { inPlanOrder, ipTable } from './server-pages.ts';
import { statusPill } from './workspace-pages.ts';
import { when } from '../dates.ts';
import { registerSupportKeyActions, supportKeysSection } from './support-key-pages.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const valueText = (v: unknown): string =>
  v === null || v === undefined
    ? '—'
    : Array.isArray(v)
      ? v.map(valueText).join(', ')
      : typeof v === 'object'
        ? Object.entries(v as Record<string, unknown>)
            .map(([k, x]) => `${k}: ${valueText(x)}`)
            .join('; ')
        : String(v);

/** An audit entry's details as labelled lines, not raw JSON. */
function detailsList(details: Record<string, unknown> | null) {
  const entries = Object.entries(details ?? {});
  if (entries.length === 0) return '';
  return html`<dl class="facts">${entries.map(([k, v]) => html`<dt>${k.replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase()}</dt><dd>${valueText(v)}</dd>`)}</dl>`;
}

export function registerSupportPages(web: WebApp, deps: WebDeps): void {
  const sandboxMail = deps.outbox !== null;
  const { db } = deps.api;
  web.use('/support/*', requireStaffPage(['support', 'ops']));

  web.get('/support/servers', async (c) => {
    const status = (SERVER_STATUSES as readonly string[]).includes(c.req.query('status') ?? '') ? (c.req.query('status') as ServerStatus) : undefined;
    const workspace = c.req.query('workspace')?.trim() ?? '';
    const q = (c.req.query('q') ?? '').trim().slice(0, 200);
    const rows =
      workspace && !UUID.test(workspace)
        ? []
        : await listServersForSupport(db, { ...(status ? { status } : {}), ...(workspace ? { workspaceId: workspace } : {}), ...(q ? { q } : {}) });
    return renderPage(c, {
      title: 'All servers',
      user: c.get('user'),
      sandboxMail,
      body: html`<form method="get" action="/support/servers" class="row card">
        <div><label for="f-status">Status</label><select id="f-status" name="status"><option value="">any</option>${SERVER_STATUSES.map((s) => html`<option value="${s}" ${s === status ? 'selected' : ''}>${s}</option>`)}</select></div>
        <div><label for="f-q">Domain or owner email</label><input id="f-q" name="q" type="search" value="${q}" autocomplete="off"></div>
        ${workspace ? html`<input type="hidden" name="workspace" value="${workspace}">` : ''}
        <div><button type="submit">Filter</button></div></form>
      <div class="table-wrap"><table class="responsive"><thead><tr><th>Domain</th><th>Status</th><th>Customer</th><th>Region</th><th>Updated</th></tr></thead><tbody>
        ${rows.map(
          (s) => html`<tr><td data-label="Domain"><a href="/support/servers/${s.id}">${s.domain}</a></td><td data-label="Status">${statusPill(s.status)}</td>
          <td data-label="Customer"><a href="/support/servers?workspace=${s.workspaceId}">${s.workspaceName}</a><div class="hint">${s.ownerEmails.join(', ') || 'no owner'}</div></td><td data-label="Region">${s.zone}</td><td data-label="Updated">${when(s.updatedAt)}</td></tr>`,
        )}
      </tbody></table></div>${rows.length === 0 ? html`<p>No server matches.</p>` : ''}`,
    });
  });

  const serverPage = async (c: WebContext, error: string | null = null) => {
    const server = await findServer(db, c.req.param('id') ?? '');
    const [d, runs, trail, keys] = await Promise.all([
      serverDetail(db, server, { withLogs: true }),
      db.select().from(provisioningRuns).where(eq(provisioningRuns.serverId, server.id)).orderBy(desc(provisioningRuns.createdAt)).limit(20),
      db
        .select()
        .from(auditLog)
        .where(or(eq(auditLog.target, server.id), and(eq(auditLog.workspaceId, server.workspaceId), eq(auditLog.action, 'server.provision'))))
        .orderBy(desc(auditLog.at))
        .limit(50),
      dkimKeysView(db, server.id),
    ]);
    // People by their address, not an id prefix: who did what is the point of the trail.
    const people = [
      ...new Set(
        trail
          .filter((a) => a.actorKind === 'user' || a.actorKind === 'staff')
          .map((a) => a.actorId)
          .filter((id) => UUID.test(id)),
      ),
    ];
    const emails = new Map(
      people.length ? (await db.select({ id: users.id, email: users.email }).from(users).where(inArray(users.id, people))).map((u) => [u.id, u.email]) : [],
    );
    const who = (a: { actorKind: string; actorId: string }) =>
      emails.get(a.actorId) ??
      (a.actorKind === 'system' || a.actorKind === 'stripe' ? `${a.actorKind} (${a.actorId})` : `${a.actorKind} ${a.actorId.slice(0, 8)}`);
    const ops = c.get('user').staffRole === 'ops';
    const base = `/support/servers/${server.id}`;
    const running = d.run?.status === 'running';
    // On a live server (its run finished) each step says what a re-run does to it; the ones that make no sense there are refused.
    const live = d.status === 'ready' && d.run?.status === 'succeeded';
    const rerunControl = (step: string) => {
      const refusal = liveRerunRefusal(d.status, d.run?.status ?? '', step);
      if (refusal) return html`<div class="hint">Not on a live server: ${refusal}</div>`;
      const effect = live ? LIVE_RERUNS[step]?.effect : undefined;
      return html`${effect ? html`<div class="hint">Re-run on this live server: ${effect}</div>` : ''}
        <form method="post" action="${base}/steps/${step}/rerun" data-confirm="${`Run ${step} again? ${effect ?? 'Steps are idempotent: it redoes only what is missing.'}`}"><button type="submit" class="secondary">Re-run ${step}</button></form>`;
    };
    return renderPage(c, {
      title: `${server.domain} (support)`,
      user: c.get('user'),
      sandboxMail,
      error,
      notice: noticeOf(c),
      status: error ? 409 : 200,
      body: html`<p>${statusPill(d.status)} <code>${d.hostname}</code> in ${d.zone}; workspace <code>${d.workspaceId}</code>.${d.statusReason ? ` ${d.statusReason}` : ''}</p>
      <p><a href="${base}/stack">Stack version, drift and updates</a></p>
      <section class="card" aria-labelledby="run-h" ${running ? html`data-refresh="5"` : ''}><h2 id="run-h">Latest run: ${d.run ? `${d.run.kind}, ${d.run.status}` : 'none'}</h2>
        ${d.run?.error ? html`<p class="error">${d.run.error}</p>` : ''}
        ${d.run?.status === 'failed' ? html`<p><a class="button" href="${base}/resume">Resume this run…</a></p>` : ''}
        <ol class="checklist">${inPlanOrder(d.steps).map(
          (
            s,
          ) => html`<li><span class="pill ${s.status}">${s.status}</span> <strong>${s.name}</strong> <span class="hint">${stepLabel(s.name)}; attempt ${s.attempt}${s.durationMs != null ? `; ${s.durationMs} ms` : ''}${s.nextAttemptAt ? `; next attempt ${s.nextAttemptAt.slice(11, 19)} UTC` : ''}</span>
          ${s.error ? html`<div class="bad">${s.error}</div>` : ''}
          ${s.log ? html`<details><summary>Log of ${s.name}</summary><pre>${s.log}</pre></details>` : ''}
          ${rerunControl(s.name)}</li>`,
        )}</ol></section>
      <section aria-labelledby="ip-h"><h2 id="ip-h">IP addresses</h2>${ipTable(d)}
        ${
          ops && d.status === 'ready'
            ? html`${d.ips
                .filter((ip) => ip.state === 'active')
                .map(
                  (
                    ip,
                  ) => html`<form method="post" action="/ops/servers/${server.id}/ips/${ip.address}/rotate" class="row card" data-confirm="Replace ${ip.address}? DNS and reverse DNS are re-pointed; the old address is released.">
          <div><label for="reason-${ip.address}">Reason for rotating ${ip.address}</label><input id="reason-${ip.address}" name="reason" required minlength="3" maxlength="200"></div><div><button type="submit">Rotate ${ip.address}</button></div></form>`,
                )}`
            : ''
        }</section>
      ${supportKeysSection(server, keys)}
      <section aria-labelledby="runs-h"><h2 id="runs-h">All runs</h2><ul class="card">${runs.map((r) => html`<li>${r.kind} <span class="pill ${r.status}">${r.status}</span> ${when(r.createdAt)}${r.error ? html` <span class="bad">${r.error}</span>` : ''}</li>`)}</ul></section>
      <section aria-labelledby="audit-h"><h2 id="audit-h">Actions on this server</h2><div class="table-wrap"><table class="responsive"><thead><tr><th>When</th><th>Who</th><th>Action</th><th>Details</th></tr></thead><tbody>
        ${trail.map((a) => html`<tr><td data-label="When">${when(a.at)}</td><td data-label="Who">${who(a)}</td><td data-label="Action">${a.action.replaceAll('_', ' ')}</td><td data-label="Details">${detailsList(a.details)}</td></tr>`)}
      </tbody></table></div></section>`,
    });
  };

  web.get('/support/servers/:id', (c) => serverPage(c));
  registerSupportKeyActions(web, deps, (c, err) => serverPage(c, refusal(err)));
  web.post('/support/servers/:id/steps/:step/rerun', async (c) => {
    const server = await findServer(db, c.req.param('id'));
    try {
      await deps.p.engine.rerunStep(c.get('actor'), server.id, c.req.param('step'));
    } catch (err) {
      return serverPage(c, refusal(err));
    }
    return c.redirect(`/support/servers/${server.id}?notice=rerun`, 303);
  });
  web.get('/support/servers/:id/resume', async (c) => {
    const server = await findServer(db, c.req.param('id'));
    const d = await serverDetail(db, server, { withLogs: false });
    const failed = d.steps.filter((s) => s.status === 'failed');
    return renderPage(c, {
      title: `Resume the run of ${server.domain}?`,
      user: c.get('user'),
      sandboxMail,
      body: html`<div class="card"><p>The ${d.run?.kind ?? ''} run is <strong>${d.run?.status ?? 'missing'}</strong>. Resuming queues ${failed.length ? html`these failed steps again: <strong>${failed.map((s) => s.name).join(', ')}</strong>` : 'nothing (no failed step)'}; steps after them then run in order. Steps are idempotent: finished work is not redone. The action is audited under your name.</p>
        <form method="post" action="/support/servers/${server.id}/resume" class="row"><button type="submit">Resume ${failed.length} step${failed.length === 1 ? '' : 's'}</button> <a href="/support/servers/${server.id}">Cancel</a></form></div>`,
    });
  });
  web.post('/support/servers/:id/resume', async (c) => {
    const server = await findServer(db, c.req.param('id'));
    try {
      await deps.p.engine.resumeRun(c.get('actor'), server.id);
    } catch (err) {
      return serverPage(c, refusal(err));
    }
    return c.redirect(`/support/servers/${server.id}?notice=resumed`, 303);
  });
}
