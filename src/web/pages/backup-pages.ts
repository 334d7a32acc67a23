/**
 * The backups page of a server: the latest backup, its age and size, the next
 * scheduled one, the latest restore drill (what was compared, pass or fail),
 * recent backups, "back up now", restore and download a mailbox for owners and admins. What the sandbox only
 * simulates is said on the page, never dressed up as a real backup.
 */
import { html } from 'hono/html';
import { requestMailboxRestore } from '../../backups/restore-mailbox.ts';
import { backupOverview, requestBackup } from '../../backups/views.ts';
import { findMailbox, listMailboxes } from '../../mailboxes/service.ts';
import { findServer } from '../../servers/views.ts';
import { formOf, refusal } from '../forms.ts';
import { noticeOf, renderPage } from '../layout.ts';
import type { WebApp, WebDeps } from '../web-env.ts';
import { inWorkspace } from '../workspace-context.ts';
import { downloadCard } from './mailbox-download-pages.ts';
import { serverTabs } from './server-pages.ts';
import { when } from '../dates.ts';

export function bytes(n: number | null): string {
  if (n === null) return '—';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

export function age(seconds: number | null): string {
  if (seconds === null) return '—';
  if (seconds < 3600) return `${Math.max(1, Math.round(seconds / 60))} min ago`;
  if (seconds < 172_800) return `${(seconds / 3600).toFixed(1)} h ago`;
  return `${Math.round(seconds / 86_400)} days ago`;
}

const DRILL_WORDS: Record<string, string> = { passed: 'passed', failed: 'failed', skipped: 'skipped', running: 'running' };
const DRILL_CLASS: Record<string, string> = { passed: 'pass', failed: 'fail', skipped: 'unknown', running: 'unknown' };

export function registerBackupPages(web: WebApp, deps: WebDeps): void {
  const sandboxMail = deps.outbox !== null;
  const { storageConfigured, simulated } = deps.backups;

  web.get('/w/:ws/servers/:id/backups', async (c) => {
    const page = await inWorkspace(deps, c, 'backups.read');
    const server = await findServer(deps.api.db, c.req.param('id'), page.workspace.id);
    const b = await backupOverview({ db: deps.api.db, storageConfigured, simulated, clock: deps.api.clock }, server);
    const canRestore = page.can('backups.restore') && server.status === 'ready';
    const canDownload = page.can('backups.download');
    const boxes = canRestore || canDownload ? await listMailboxes(deps.api.db, page.access, server.id) : [];
    const snapshots = b.runs.filter((r) => r.status === 'succeeded');
    const error = c.req.query('error');
    const base = `/w/${page.workspace.id}/servers/${server.id}`;
    const last = b.lastSuccess;
    const d = b.lastDrill;
    return renderPage(c, {
      title: `Backups of ${server.domain}`,
      user: c.get('user'),
      workspace: page.workspace,
      sandboxMail,
      notice: c.req.query('queued')
        ? 'Backup queued; reload in a minute.'
        : c.req.query('restoring')
          ? 'Restore queued: the messages appear in the "Restored" folder in a minute.'
          : noticeOf(c),
      body: html`${serverTabs(page.workspace.id, server.id, '/backups')}
      ${error ? html`<p role="alert" class="error">${error.slice(0, 300)}</p>` : ''}
      ${!b.configured ? html`<p>No backup storage is configured on this installation: nothing is backed up.</p>` : ''}
      ${b.simulated ? html`<p class="hint">Sandbox: the emulated host answers the backup without running restic, so these backups are simulated (nothing is stored) and restore drills are skipped, not faked.</p>` : ''}
      <div class="grid"><section class="card" aria-labelledby="last-h"><h2 id="last-h">Latest backup</h2><dl class="facts">
        <dt>Taken</dt><dd>${last ? html`${when(last.finishedAt)} (${age(b.lastSuccessAgeSeconds)})${last.simulated ? html` <span class="pill unknown">simulated</span>` : ''}` : 'none yet'}</dd>
        <dt>Size</dt><dd>${last ? html`${bytes(last.sizeBytes)}, ${last.messages ?? 0} messages` : '—'}</dd>
        <dt>Next scheduled</dt><dd>${when(b.nextScheduledAt)}</dd>
        <dt>Stored in</dt><dd>${b.repository ? html`${b.repository.region} (encrypted; only this server's key and ours reach it)` : '—'}</dd>
        ${b.repository?.deleteAfter ? html`<dt>Kept until</dt><dd>${when(b.repository.deleteAfter)}</dd>` : ''}
        ${b.repository?.deletedAt ? html`<dt>Deleted</dt><dd>${when(b.repository.deletedAt)}: no copy is left</dd>` : ''}
      </dl></section>
      <section class="card" aria-labelledby="drill-h"><h2 id="drill-h">Latest restore drill</h2>
        ${
          d
            ? html`<p><span class="pill ${DRILL_CLASS[d.status]}">${DRILL_WORDS[d.status]}</span> ${when(d.finishedAt ?? d.startedAt)}</p>
          ${
            d.status === 'skipped'
              ? html`<p>${String(d.details['why'] ?? 'Skipped.')}</p>`
              : html`<p>${d.messagesCompared} messages restored from snapshot <code>${d.snapshotId ?? '?'}</code> and compared with what the server had, folder by folder.</p>`
          }
          ${d.error ? html`<p><strong>What went wrong:</strong> ${d.error}</p>` : ''}`
            : html`<p>No drill yet: once a week the latest backup is restored and compared with the server's mail.</p>`
        }
      </section></div>
      ${page.can('backups.run') && b.configured && b.nextScheduledAt ? html`<form method="post" action="${base}/backups/run"><button type="submit" class="secondary">Back up now</button></form>` : ''}
      ${
        canRestore && boxes.length > 0 && snapshots.length > 0
          ? html`<section class="card" aria-labelledby="restore-h"><h2 id="restore-h">Restore a mailbox</h2>
        <p>Messages come back into a new folder named "Restored" and today's date, beside the current mail: nothing current is replaced.</p>
        <form method="post" action="${base}/backups/restore" class="stack">
          <label>Mailbox <select name="mailbox">${boxes.map((m) => html`<option value="${m.id}">${m.address}</option>`)}</select></label>
          <label>From the backup of <select name="backup">${snapshots.map((r) => html`<option value="${r.id}">${when(r.finishedAt)}${r.simulated ? ' (simulated)' : ''}</option>`)}</select></label>
          <label>Only the folder (empty: all) <input name="folder" maxlength="100" placeholder="INBOX, Sent, …"></label>
          <button type="submit">Restore</button></form>
        ${
          b.restores.length
            ? html`<ul>${b.restores.map(
                (
                  r,
                ) => html`<li>${r.address}${r.folder ? ` (${r.folder})` : ''} → "${r.targetFolder}": <span class="pill ${r.status === 'succeeded' ? 'pass' : r.status === 'failed' ? 'fail' : 'unknown'}">${r.status}</span>
          ${r.restoredMessages !== null ? `${r.restoredMessages} messages` : ''}${r.simulated ? ' (simulated: nothing to restore on an emulated host)' : ''}${r.error ? html`<div class="hint">${r.error.slice(0, 200)}</div>` : ''}</li>`,
              )}</ul>`
            : ''
        }
      </section>`
          : ''
      }
      ${canDownload ? downloadCard(base, boxes, snapshots) : ''}
      <section class="card" aria-labelledby="runs-h"><h2 id="runs-h">Recent backups</h2>
      ${
        b.runs.length === 0
          ? html`<p>None yet.</p>`
          : html`<table><thead><tr><th scope="col">Started</th><th scope="col">Why</th><th scope="col">Result</th><th scope="col">Size</th><th scope="col">Took</th></tr></thead><tbody>
        ${b.runs.map(
          (r) => html`<tr><td>${when(r.startedAt)}</td><td>${r.reason}</td>
          <td><span class="pill ${r.status === 'succeeded' ? 'pass' : r.status === 'failed' ? 'fail' : 'unknown'}">${r.status}</span>${r.simulated ? ' (simulated)' : ''}${r.error ? html`<div class="hint">${r.error.slice(0, 200)}</div>` : ''}</td>
          <td>${bytes(r.sizeBytes)}</td><td>${r.durationMs === null ? '—' : `${(r.durationMs / 1000).toFixed(1)} s`}</td></tr>`,
        )}
      </tbody></table>`
      }</section>`,
    });
  });

  web.post('/w/:ws/servers/:id/backups/run', async (c) => {
    const page = await inWorkspace(deps, c, 'backups.run');
    const server = await findServer(deps.api.db, c.req.param('id'), page.workspace.id);
    await requestBackup({ database: deps.p.database, queue: deps.p.queue, storageConfigured }, c.get('actor'), server);
    return c.redirect(`/w/${page.workspace.id}/servers/${server.id}/backups?queued=1`, 303);
  });

  web.post('/w/:ws/servers/:id/backups/restore', async (c) => {
    const page = await inWorkspace(deps, c, 'backups.restore');
    const server = await findServer(deps.api.db, c.req.param('id'), page.workspace.id);
    const form = await formOf(c);
    const back = `/w/${page.workspace.id}/servers/${server.id}/backups`;
    try {
      const mailbox = await findMailbox(deps.api.db, server.id, form['mailbox'] ?? '');
      const folder = (form['folder'] ?? '').trim();
      await requestMailboxRestore({ database: deps.p.database, queue: deps.p.queue, clock: deps.api.clock }, c.get('actor'), {
        server,
        mailbox,
        backupId: form['backup'] ?? '',
        folder: folder || undefined,
      });
      return c.redirect(`${back}?restoring=1`, 303);
    } catch (err) {
      return c.redirect(`${back}?error=${encodeURIComponent(refusal(err))}`, 303);
    }
  });
}
