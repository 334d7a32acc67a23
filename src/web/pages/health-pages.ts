/** The health page: each check ✓ / ! / ✗ / ? with what was seen, what to do, and since when. */
import { html } from 'hono/html';
import { presentChecks } from '../../api/routes/server-checks.ts';
import { findServer } from '../../servers/views.ts';
import { noticeOf, renderPage } from '../layout.ts';
import type { WebApp, WebDeps } from '../web-env.ts';
import { inWorkspace } from '../workspace-context.ts';
import { serverTabs } from './server-pages.ts';
import { when } from '../dates.ts';

const SYMBOL: Record<string, { mark: string; word: string }> = {
  pass: { mark: '✓', word: 'passing' },
  warn: { mark: '!', word: 'warning' },
  fail: { mark: '✗', word: 'failing' },
  unknown: { mark: '?', word: 'could not check' },
};

export function registerHealthPages(web: WebApp, deps: WebDeps): void {
  const sandboxMail = deps.outbox !== null;

  web.get('/w/:ws/servers/:id/health', async (c) => {
    const page = await inWorkspace(deps, c, 'servers.read');
    const server = await findServer(deps.api.db, c.req.param('id'), page.workspace.id);
    const checks = await presentChecks(deps.api.db, server.id);
    const failing = checks.filter((ch) => ch.status === 'fail').length;
    const base = `/w/${page.workspace.id}/servers/${server.id}`;
    // After "Run the checks now", the page follows the run: reloaded until the results are newer than the click.
    const queued = c.req.query('queued');
    // (For two minutes at most: a run that never reports must not keep the page reloading.)
    const stale = queued !== undefined && checks.length > 0 && Date.parse(checks[0]!.checkedAt) < Number(queued) && Date.now() - Number(queued) < 120_000;
    return renderPage(c, {
      title: `Health of ${server.domain}`,
      user: c.get('user'),
      workspace: page.workspace,
      sandboxMail,
      notice: queued ? 'Health checks queued: this page shows the new results as soon as they are in.' : noticeOf(c),
      body: html`${serverTabs(page.workspace.id, server.id, '/health')}
      ${
        checks.length === 0
          ? html`<p ${server.status === 'ready' ? html`data-refresh="3"` : ''}>${server.status === 'ready' ? 'The first health run is under way; this page shows its results as soon as they are in.' : `Health checks start once the server is ready (it is ${server.status}).`}</p>`
          : html`<p ${stale ? html`data-refresh="3"` : ''}>${failing === 0 ? 'Nothing is failing.' : `${failing} check${failing > 1 ? 's' : ''} failing.`} Checked ${when(checks[0]!.checkedAt)}; owners are emailed when a check changes.</p>
        ${deps.health.probe.simulated ? html`<p class="hint">Sandbox: port, certificate and MTA-STS results come from what provisioning recorded on the emulated host.</p>` : ''}
        <ul class="checklist card">${checks.map(
          (ch) => html`<li><span class="mark ${ch.status}" aria-hidden="true">${SYMBOL[ch.status]!.mark}</span>
          <strong>${ch.title}</strong> <span class="pill ${ch.status}">${SYMBOL[ch.status]!.word}</span>
          <div>${ch.summary}</div>${ch.action ? html`<div><strong>What to do:</strong> ${ch.action}</div>` : ''}
          <div class="hint">Since ${when(ch.changedAt)}</div></li>`,
        )}</ul>`
      }
      ${server.status === 'ready' && page.can('servers.checks.run') ? html`<form method="post" action="${base}/health/run"><button type="submit" class="secondary">Run the checks now</button></form>` : ''}`,
    });
  });

  web.post('/w/:ws/servers/:id/health/run', async (c) => {
    const page = await inWorkspace(deps, c, 'servers.checks.run');
    const server = await findServer(deps.api.db, c.req.param('id'), page.workspace.id);
    if (server.status === 'ready') await deps.p.queue.send('health.check_server', { serverId: server.id }, { singletonKey: server.id });
    return c.redirect(`/w/${page.workspace.id}/servers/${server.id}/health?queued=${Date.now()}`, 303);
  });
}
