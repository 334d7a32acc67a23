/**
 * "Download a mailbox" on a server's Backups tab: the form asks for a link (the same
 * service and permission as POST …/mailboxes/{mb}/download), then the browser is sent
 * straight to it; the archive streams from the snapshot and the link is spent.
 */
import { Readable } from 'node:stream';
import { html } from 'hono/html';
import { archiveName, claimMailboxDownload, requestMailboxDownload } from '../../backups/download-mailbox.ts';
import { streamMailboxArchive } from '../../backups/download-mailbox.ts';
import { findMailbox, type MailboxRow } from '../../mailboxes/service.ts';
import { findServer } from '../../servers/views.ts';
import { formOf, refusal } from '../forms.ts';
import type { WebApp, WebDeps } from '../web-env.ts';
import { inWorkspace } from '../workspace-context.ts';

const when = (iso: string | null) => (iso ? `${iso.slice(0, 16).replace('T', ' ')} UTC` : '—');

/** The card, for owners and admins; simulated backups (emulated hosts) hold no mail and are not offered. */
export function downloadCard(base: string, boxes: MailboxRow[], snapshots: Array<{ id: string; finishedAt: string | null; simulated: boolean }>) {
  const real = snapshots.filter((r) => !r.simulated);
  if (boxes.length === 0 || snapshots.length === 0) return '';
  return html`<section class="card" aria-labelledby="download-h"><h2 id="download-h">Download a mailbox</h2>
    ${
      real.length === 0
        ? html`<p class="hint">Only simulated backups so far (an emulated sandbox host): they hold no mail to download.</p>`
        : html`<p>Every message of the mailbox, as the backup holds it, in a Maildir archive (tar.gz) that Dovecot, mutt or Thunderbird can import. The link works once, for 15 minutes.</p>
      <form method="post" action="${base}/backups/download" class="stack">
        <label>Mailbox <select name="mailbox">${boxes.map((m) => html`<option value="${m.id}">${m.address}</option>`)}</select></label>
        <label>From the backup of <select name="backup">${real.map((r) => html`<option value="${r.id}">${when(r.finishedAt)}</option>`)}</select></label>
        <button type="submit" class="secondary">Download</button></form>`
    }
  </section>`;
}

export function registerMailboxDownloadPages(web: WebApp, deps: WebDeps): void {
  const service = deps.backups.service;

  web.post('/w/:ws/servers/:id/backups/download', async (c) => {
    const page = await inWorkspace(deps, c, 'backups.download');
    const server = await findServer(deps.api.db, c.req.param('id'), page.workspace.id);
    const form = await formOf(c);
    const back = `/w/${page.workspace.id}/servers/${server.id}/backups`;
    try {
      const mailbox = await findMailbox(deps.api.db, server.id, form['mailbox'] ?? '');
      const row = await requestMailboxDownload({ database: service.database, clock: service.clock }, c.get('actor'), {
        server,
        mailbox,
        backupId: form['backup'] ?? '',
      });
      return c.redirect(`${back}/download/${row.id}`, 303);
    } catch (err) {
      return c.redirect(`${back}?error=${encodeURIComponent(refusal(err))}`, 303);
    }
  });

  web.get('/w/:ws/servers/:id/backups/download/:download', async (c) => {
    const page = await inWorkspace(deps, c, 'backups.download');
    const server = await findServer(deps.api.db, c.req.param('id'), page.workspace.id);
    const back = `/w/${page.workspace.id}/servers/${server.id}/backups`;
    try {
      const row = await claimMailboxDownload(deps.api.db, server.id, c.req.param('download'), service.clock.now());
      const archive = await streamMailboxArchive(service, server, row);
      return new Response(Readable.toWeb(archive) as ReadableStream, {
        headers: { 'content-type': 'application/gzip', 'content-disposition': `attachment; filename="${archiveName(row)}"`, 'cache-control': 'no-store' },
      });
    } catch (err) {
      return c.redirect(`${back}?error=${encodeURIComponent(refusal(err))}`, 303);
    }
  });
}
