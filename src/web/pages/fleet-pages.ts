/**
 * The fleet in the dashboard. Ops: servers per stack version, rollouts (start one, follow it
 * live, resume / skip / abort a halted one). Support: a server's stack, drift with the diff of
 * every changed non-secret file, updates, and "check now". Customers: their server's maintenance
 * window (when mailplane may restart services or reboot). Same services and permissions as the API.
 */
import { html } from 'hono/html';
import { audit } from '../../audit.ts';
import { serverStacks } from '../../db/schema/index.ts';
import { ValidationError } from '../../errors.ts';
import { validateWindow } from '../../fleet/maintenance.ts';
import { actOnRollout, fleetVersions, listRollouts, rolloutView } from '../../fleet/rollout-actions.ts';
import { startRollout } from '../../fleet/rollouts.ts';
import { serverStackView } from '../../fleet/views.ts';
import { findServer } from '../../servers/views.ts';
import { formOf, refusal } from '../forms.ts';
import { noticeOf, renderPage } from '../layout.ts';
import type { WebApp, WebContext, WebDeps } from '../web-env.ts';
import { inWorkspace } from '../workspace-context.ts';
import { serverTabs } from './server-pages.ts';

const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const hhmm = (m: number) => `${String(Math.floor(m / 60) % 24).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;

export function registerFleetPages(web: WebApp, deps: WebDeps): void {
  const sandboxMail = deps.outbox !== null;
  const { db } = deps.api;
  const fleet = deps.fleet;

  const fleetPage = async (c: WebContext, error: string | null = null) => {
    const [v, rollouts] = await Promise.all([fleetVersions(fleet), listRollouts(db)]);
    return renderPage(c, {
      title: 'Fleet versions and rollouts',
      user: c.get('user'),
      sandboxMail,
      error,
      notice: noticeOf(c),
      status: error ? 409 : 200,
      body: html`<p>The current mail stack is <code>${v.current.version}</code> (release ${v.current.release}).</p>
      <div class="table-wrap"><table class="responsive"><thead><tr><th>Version</th><th>Release</th><th>Servers</th></tr></thead><tbody>
        ${v.versions.map((r) => html`<tr><td data-label="Version"><code>${r.version ?? 'not recorded'}</code>${r.current ? ' (current)' : ''}</td><td data-label="Release">${r.release ?? '—'}</td><td data-label="Servers">${r.servers}</td></tr>`)}
      </tbody></table></div>
      <form method="post" action="/ops/rollouts" class="row card" data-confirm="Roll stack ${v.current.version} out to every ready server behind it? Each server is backed up, changed in its maintenance window and checked; a failure halts the rollout.">
        <div><label for="canary">Canary server id (optional)</label><input id="canary" name="canary" autocomplete="off"></div><div><button type="submit">Start a rollout</button></div></form>
      <h2>Rollouts</h2>${rollouts.length === 0 ? html`<p>None yet.</p>` : html`<ul class="card">${rollouts.map((r) => html`<li><a href="/ops/rollouts/${r.id}">${r.createdAt.slice(0, 16).replace('T', ' ')}</a> → <code>${r.targetVersion}</code> <span class="pill ${r.status}">${r.status}</span>${r.haltReason ? html` <span class="bad">${r.haltReason}</span>` : ''}</li>`)}</ul>`}`,
    });
  };

  const rolloutPage = async (c: WebContext, error: string | null = null) => {
    const r = await rolloutView(db, c.req.param('id') ?? '');
    const live = r.status === 'running' || r.servers.some((s) => s.status === 'rolling_back');
    const ops = c.get('user').staffRole === 'ops';
    return renderPage(c, {
      title: `Rollout of ${r.targetVersion}`,
      user: c.get('user'),
      sandboxMail,
      error,
      notice: noticeOf(c),
      status: error ? 409 : 200,
      body: html`<section class="card" ${live ? html`data-refresh="5"` : ''}><p><span class="pill ${r.status}">${r.status}</span> started ${r.createdAt.slice(0, 16).replace('T', ' ')} UTC by <code>${r.startedBy.slice(0, 12)}</code>${live ? '; this page updates by itself' : ''}.</p>
        ${r.haltReason ? html`<p class="error">${r.haltReason}</p>` : ''}
        ${
          ops && r.status === 'halted'
            ? html`<div class="row">
          <form method="post" action="/ops/rollouts/${r.id}/resume"><button type="submit">Resume (try the failed server again)</button></form>
          <form method="post" action="/ops/rollouts/${r.id}/skip"><button type="submit" class="secondary">Skip the failed server</button></form></div>`
            : ''
        }
        ${ops && (r.status === 'halted' || r.status === 'running') ? html`<form method="post" action="/ops/rollouts/${r.id}/abort" data-confirm="Abort the rollout? Servers not started yet stay on their version."><button type="submit" class="secondary">Abort</button></form>` : ''}
        <ol class="checklist">${r.servers.map(
          (s) => html`<li><span class="pill ${s.status}">${s.status}</span> wave ${s.wave} <a href="/support/servers/${s.serverId}">${s.hostname}</a>
          <span class="hint">from ${s.fromVersion ?? 'unknown'}${s.failedCheck ? `; failed the "${s.failedCheck}" check` : ''}</span>${s.error ? html`<div class="bad">${s.error}</div>` : ''}</li>`,
        )}</ol></section>`,
    });
  };

  web.get('/ops/fleet', (c) => fleetPage(c));
  web.post('/ops/rollouts', async (c) => {
    const canary = (await formOf(c))['canary']?.trim();
    try {
      const { id } = await startRollout(fleet, c.get('actor'), canary ? { canaryServerId: canary } : {});
      return c.redirect(`/ops/rollouts/${id}`, 303);
    } catch (err) {
      return fleetPage(c, refusal(err));
    }
  });
  web.get('/ops/rollouts/:id', (c) => rolloutPage(c));
  web.post('/ops/rollouts/:id/:action{resume|skip|abort}', async (c) => {
    try {
      await actOnRollout(fleet, c.get('actor'), c.req.param('id'), c.req.param('action') as 'resume' | 'skip' | 'abort');
    } catch (err) {
      return rolloutPage(c, refusal(err));
    }
    return c.redirect(`/ops/rollouts/${c.req.param('id')}`, 303);
  });

  web.get('/support/servers/:id/stack', async (c) => {
    const server = await findServer(db, c.req.param('id'));
    const s = await serverStackView(fleet, db, server, { withDiffs: true });
    return renderPage(c, {
      title: `Stack of ${server.domain}`,
      user: c.get('user'),
      sandboxMail,
      notice: c.req.query('queued') ? 'Drift check queued: reload in a moment.' : null,
      body: html`<p><a href="/support/servers/${server.id}">Back to the server</a></p><section class="card"><dl class="facts">
        <dt>Stack version</dt><dd><code>${s.version ?? 'not recorded'}</code> (release ${s.release ?? '?'}), applied ${s.appliedAt?.slice(0, 16).replace('T', ' ') ?? 'never'}${s.current.upToDate ? ', the current one' : html`; the current one is <code>${s.current.version}</code>`}</dd>
        <dt>Previous version</dt><dd>${s.previousVersion ?? '—'}</dd><dt>Maintenance window</dt><dd>${s.maintenanceWindow.text} (${s.maintenanceWindow.source})</dd>
        <dt>Last drift check</dt><dd>${s.drift?.checkedAt.slice(0, 16).replace('T', ' ') ?? 'never'}</dd></dl>
        <form method="post" action="/support/servers/${server.id}/drift-check"><button type="submit" class="secondary">Check for drift now</button></form></section>
      ${
        s.drift
          ? html`<section class="card"><h2>Drift</h2>${
              s.drift.files.length === 0
                ? html`<p>Every managed file is as mailplane applied it.</p>`
                : s.drift.files.map(
                    (f) => html`<h3><code>${f.path}</code>${f.missing ? ' (missing)' : ''}</h3>
        ${f.secret ? html`<p class="hint">A secret: only its digest is compared, its content is never shown.</p>` : html`<pre>${f.diff ?? ''}</pre>`}`,
                  )
            }
        ${s.drift.servicesDown.length ? html`<p class="bad">Not running: ${s.drift.servicesDown.map((u) => `${u.unit} (${u.active})`).join(', ')}</p>` : ''}
        ${s.drift.packagesChanged.length ? html`<p>Packages changed since the apply: ${s.drift.packagesChanged.map((p) => `${p.name} ${p.applied ?? 'none'} → ${p.now ?? 'removed'}`).join(', ')}</p>` : ''}
        <p>Updates: ${s.drift.updates.pending} pending (${s.drift.updates.security.length} security)${s.drift.updates.rebootRequired ? html`; <strong>reboot required</strong>` : ''}; kernel ${s.drift.updates.kernel.running}${s.drift.updates.kernel.installed && s.drift.updates.kernel.installed !== s.drift.updates.kernel.running ? ` (installed: ${s.drift.updates.kernel.installed})` : ''}.</p></section>`
          : ''
      }`,
    });
  });
  web.post('/support/servers/:id/drift-check', async (c) => {
    const server = await findServer(db, c.req.param('id'));
    await fleet.provisioning.queue.send('fleet.drift_check', { serverId: server.id }, { singletonKey: server.id });
    await audit(db, c.get('actor'), { action: 'server.drift_check', workspaceId: server.workspaceId, target: server.id });
    return c.redirect(`/support/servers/${server.id}/stack?queued=1`, 303);
  });

  const windowPage = async (c: WebContext, error: string | null = null) => {
    const page = await inWorkspace(deps, c, 'servers.read');
    const server = await findServer(db, c.req.param('id') ?? '', page.workspace.id);
    const s = await serverStackView(fleet, db, server, { withDiffs: false });
    const w = s.maintenanceWindow;
    const base = `/w/${page.workspace.id}/servers/${server.id}`;
    return renderPage(c, {
      title: `Maintenance window of ${server.domain}`,
      user: c.get('user'),
      workspace: page.workspace,
      sandboxMail,
      error,
      notice: c.req.query('saved') ? 'Maintenance window saved.' : null,
      status: error ? 400 : 200,
      body: html`${serverTabs(page.workspace.id, server.id, '/maintenance')}
      <section class="card"><p>mailplane restarts this server's mail services (to bring it a new version of its mail stack) and reboots it (when an update needs it) only in this window, then checks it. Now: <strong>${w.text}</strong>${w.source === 'default' ? ' (the default)' : w.source === 'workspace' ? " (the workspace's)" : ''}; next opening ${w.nextOpening.slice(0, 16).replace('T', ' ')} UTC.</p>
        <p class="hint">Stack version <code>${s.version ?? 'unknown'}</code>${s.drift?.updates.rebootRequired ? html`; <strong>a reboot is pending</strong>` : ''}.</p>
        ${
          page.can('servers.maintenance')
            ? html`<form method="post" action="${base}/maintenance"><fieldset><legend>Days (UTC)</legend>${DAYS.map((d, i) => html`<label><input type="checkbox" name="day" value="${i}" ${w.days.includes(i) ? 'checked' : ''}> ${d}</label> `)}</fieldset>
          <div class="row"><div><label for="start">Starts at (UTC)</label><input id="start" name="start" type="time" required value="${hhmm(w.startMinute)}"></div>
          <div><label for="hours">Lasts (hours)</label><input id="hours" name="hours" type="number" min="1" max="24" required value="${Math.max(1, Math.round(w.durationMinutes / 60))}"></div></div>
          <button type="submit">Save the window</button></form>`
            : ''
        }</section>`,
    });
  };
  web.get('/w/:ws/servers/:id/maintenance', (c) => windowPage(c));
  web.post('/w/:ws/servers/:id/maintenance', async (c) => {
    const page = await inWorkspace(deps, c, 'servers.maintenance');
    const server = await findServer(db, c.req.param('id'), page.workspace.id);
    const form = await c.req.parseBody({ all: true });
    const list = (v: unknown) => (Array.isArray(v) ? v : v === undefined ? [] : [v]).map((x) => Number(x));
    try {
      const days = list(form['day']);
      const [h, m] = String(form['start'] ?? '')
        .split(':')
        .map(Number);
      if (h === undefined || m === undefined || Number.isNaN(h) || Number.isNaN(m)) throw new ValidationError('Give the start time as HH:MM.');
      const window = validateWindow({ days, startMinute: h * 60 + m, durationMinutes: Number(form['hours']) * 60 });
      await db
        .insert(serverStacks)
        .values({ serverId: server.id, maintenanceWindow: window })
        .onConflictDoUpdate({ target: serverStacks.serverId, set: { maintenanceWindow: window } });
      await audit(db, c.get('actor'), { action: 'server.maintenance_window', workspaceId: server.workspaceId, target: server.id, details: { window } });
    } catch (err) {
      return windowPage(c, refusal(err));
    }
    return c.redirect(`/w/${page.workspace.id}/servers/${server.id}/maintenance?saved=1`, 303);
  });
}
