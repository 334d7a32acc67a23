/** Home, the workspace list (create, switch) and a workspace's overview (its servers, rename). */
import { html } from 'hono/html';
import { eq } from 'drizzle-orm';
import { workspaces } from '../../db/schema/index.ts';
import { cancelWorkspaceErasure, scheduleWorkspaceErasure } from '../../gdpr/erasure-grace.ts';
import { when } from '../dates.ts';
import { listServers } from '../../servers/views.ts';
import { createWorkspace, listWorkspacesOfUser, renameWorkspace } from '../../workspaces/workspaces.ts';
import { field, formOf, refusal } from '../forms.ts';
import { noticeOf, renderPage } from '../layout.ts';
import type { WebApp, WebContext, WebDeps } from '../web-env.ts';
import { inWorkspace } from '../workspace-context.ts';

const graceText = (ms: number) => (ms % 86_400_000 === 0 ? `${ms / 86_400_000} day${ms === 86_400_000 ? '' : 's'}` : `${Math.round(ms / 3_600_000)} hours`);

export const statusPill = (status: string) => html`<span class="pill ${status}">${status.replaceAll('_', ' ')}</span>`;

export function registerWorkspacePages(web: WebApp, deps: WebDeps): void {
  const sandboxMail = deps.outbox !== null;

  web.get('/', async (c) => {
    const mine = await listWorkspacesOfUser(deps.api.db, c.get('user').id);
    return c.redirect(mine.length === 1 ? `/w/${mine[0]!.id}` : '/workspaces', 303);
  });

  const listPage = async (c: WebContext, error: string | null = null) => {
    const user = c.get('user');
    const mine = await listWorkspacesOfUser(deps.api.db, user.id);
    return renderPage(c, {
      title: 'Your workspaces',
      user,
      sandboxMail,
      error,
      notice: noticeOf(c),
      status: error ? 400 : 200,
      body: html`${
        mine.length === 0
          ? html`<p>A workspace holds your servers, your team and your API keys. Create one to start.</p>`
          : html`
        <ul class="card">${mine.map((w) => html`<li><a href="/w/${w.id}">${w.name}</a> <span class="hint">(${w.role})</span></li>`)}</ul>`
      }
        <h2>New workspace</h2>
        <form method="post" action="/workspaces" class="stack card">${field({ name: 'name', label: 'Workspace name', hint: 'Your company or project.' })}<div><button type="submit">Create workspace</button></div></form>`,
    });
  };
  web.get('/workspaces', (c) => listPage(c));
  web.post('/workspaces', async (c) => {
    const name = ((await formOf(c))['name'] ?? '').trim();
    if (!name || name.length > 100) return listPage(c, 'Give the workspace a name (up to 100 characters).');
    try {
      const ws = await createWorkspace(deps.api.db, c.get('actor'), c.get('user').id, name);
      return c.redirect(`/w/${ws.id}`, 303);
    } catch (err) {
      return listPage(c, refusal(err));
    }
  });

  const overview = async (c: WebContext, error: string | null = null) => {
    const page = await inWorkspace(deps, c, 'servers.read');
    const servers = await listServers(deps.api.db, { workspaceId: page.workspace.id });
    const ws = page.workspace.id;
    const [row] = await deps.api.db.select({ erasesAt: workspaces.erasureScheduledFor }).from(workspaces).where(eq(workspaces.id, ws));
    const erasesAt = row?.erasesAt ?? null;
    return renderPage(c, {
      title: page.workspace.name,
      user: c.get('user'),
      workspace: page.workspace,
      sandboxMail,
      error,
      notice: noticeOf(c),
      status: error ? 400 : 200,
      body: html`${
        erasesAt
          ? html`<section class="error" id="erasure-scheduled"><h2>This workspace will be erased at ${when(erasesAt)}</h2>
        <p>Its servers keep running and serving mail until then; no new server can be subscribed. Then they are deprovisioned with all their mail,
        the subscriptions cancelled and every mailbox, key and member deleted. Every owner was mailed.</p>
        ${
          page.can('workspace.delete')
            ? html`<form method="post" action="/w/${ws}/erasure/cancel"><button type="submit">Keep this workspace</button></form>`
            : html`<p>An owner of the workspace can cancel the erasure.</p>`
        }</section>`
          : ''
      }
      <h2>Mail servers</h2>
      ${
        servers.length === 0
          ? html`<p>No mail server yet.</p>`
          : html`<div class="table-wrap"><table class="responsive"><thead><tr><th>Domain</th><th>Status</th><th>Region</th><th>Plan</th></tr></thead><tbody>
        ${servers.map((s) => html`<tr><td data-label="Domain"><a href="/w/${ws}/servers/${s.id}">${s.domain}</a><div class="hint">${s.hostname}</div></td><td data-label="Status">${statusPill(s.status)}${s.statusReason ? html`<div class="hint">${s.statusReason}</div>` : ''}</td><td data-label="Region">${s.zone}</td><td data-label="Plan">${s.plan}</td></tr>`)}
      </tbody></table></div>`
      }
      ${page.can('servers.checkout') && !erasesAt ? html`<p><a class="button" href="/w/${ws}/subscribe">Subscribe to a new mail server</a></p>` : ''}
      ${page.can('workspace.update') ? html`<h2>Rename</h2><form method="post" action="/w/${ws}/rename" class="stack card">${field({ name: 'name', label: 'Workspace name', value: page.workspace.name })}<div><button type="submit" class="secondary">Rename</button></div></form>` : ''}
      ${
        page.can('workspace.delete') && !erasesAt
          ? html`<h2>Erase this workspace</h2><form method="post" action="/w/${ws}/erase" class="stack card" data-confirm="Erase ${page.workspace.name}, its servers and all their mail for good?">
        <p>Deprovisions ${servers.length ? `its ${servers.length} server${servers.length > 1 ? 's' : ''}` : 'its servers'}, cancels the subscriptions and deletes every mailbox, key and member.
        ${deps.p.erasure.workspaceGraceMs > 0 ? `The erasure starts ${graceText(deps.p.erasure.workspaceGraceMs)} after you confirm; until then every owner can cancel it. After that it cannot be undone.` : 'This cannot be undone.'}</p>
        ${field({ name: 'confirm', label: `Type the workspace name (${page.workspace.name}) to confirm`, autocomplete: 'off' })}
        <div><button type="submit" class="danger">Erase workspace</button></div></form>`
          : ''
      }`,
    });
  };
  web.get('/w/:ws', (c) => overview(c));
  web.post('/w/:ws/erase', async (c) => {
    const page = await inWorkspace(deps, c, 'workspace.delete');
    if (((await formOf(c))['confirm'] ?? '').trim() !== page.workspace.name) return overview(c, 'Type the workspace name exactly to confirm the erasure.');
    const { status } = await scheduleWorkspaceErasure(deps.p.erasure, c.get('actor'), page.workspace.id);
    return c.redirect(status === 'erasing' ? '/workspaces?notice=workspace_erasing' : `/w/${page.workspace.id}?notice=erasure_scheduled`, 303);
  });
  web.post('/w/:ws/erasure/cancel', async (c) => {
    const page = await inWorkspace(deps, c, 'workspace.delete');
    try {
      await cancelWorkspaceErasure(deps.p.erasure, c.get('actor'), page.workspace.id);
    } catch (err) {
      return overview(c, refusal(err));
    }
    return c.redirect(`/w/${page.workspace.id}?notice=erasure_cancelled`, 303);
  });

  web.post('/w/:ws/rename', async (c) => {
    const page = await inWorkspace(deps, c, 'workspace.update');
    const name = ((await formOf(c))['name'] ?? '').trim();
    if (!name || name.length > 100) return overview(c, 'Give the workspace a name (up to 100 characters).');
    try {
      await renameWorkspace(deps.api.db, c.get('actor'), page.access, name);
    } catch (err) {
      return overview(c, refusal(err));
    }
    return c.redirect(`/w/${page.workspace.id}?notice=renamed`, 303);
  });
}
