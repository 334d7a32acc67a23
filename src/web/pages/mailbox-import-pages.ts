/**
 * Importing a mailbox from another provider, in the dashboard (issue 23): the form asks for
 * the old IMAP server, the user and the password (used for that run only), and the page lists
 * the runs with what each is doing, the messages per folder and any error. Same service and
 * permissions as the API (members: only the mailbox assigned to them).
 */
import { html } from 'hono/html';
import { listImports, presentImport, requestImport } from '../../mailboxes/imports.ts';
import { findMailbox } from '../../mailboxes/service.ts';
import { findServer } from '../../servers/views.ts';
import { field, formOf, refusal } from '../forms.ts';
import { noticeOf, renderPage } from '../layout.ts';
import type { WebApp, WebContext, WebDeps } from '../web-env.ts';
import { inWorkspace } from '../workspace-context.ts';
import { serverTabs } from './server-pages.ts';

const when = (iso: string | null) => (iso ? iso.replace('T', ' ').slice(0, 16) + ' UTC' : '—');
const STATUS_LABEL: Record<string, string> = { queued: 'waiting to start', running: 'running', succeeded: 'done', failed: 'failed' };

export function registerMailboxImportPages(web: WebApp, deps: WebDeps): void {
  const sandboxMail = deps.outbox !== null;

  const importPage = async (c: WebContext, extra: { error?: string; form?: Record<string, string> } = {}) => {
    const page = await inWorkspace(deps, c, 'mailboxes.credentials');
    const server = await findServer(deps.api.db, c.req.param('id') ?? '', page.workspace.id);
    const mailbox = await findMailbox(deps.api.db, server.id, c.req.param('mb') ?? '');
    const runs = (await listImports(deps.api.db, page.access, server.id, mailbox.id)).map(presentImport);
    const underWay = runs.some((r) => r.status === 'queued' || r.status === 'running');
    const base = `/w/${page.workspace.id}/servers/${server.id}/mailboxes/${mailbox.id}`;
    const form = extra.form ?? {};
    return renderPage(c, {
      title: `Import mail into ${mailbox.address}`,
      user: c.get('user'),
      workspace: page.workspace,
      sandboxMail,
      error: extra.error ?? null,
      notice: noticeOf(c),
      status: extra.error ? 400 : 200,
      body: html`${serverTabs(page.workspace.id, server.id, '/mailboxes')}
      <p><a href="/w/${page.workspace.id}/servers/${server.id}/mailboxes">Back to the mailboxes</a></p>
      <p>Copies every folder and message of a mailbox at your old provider into ${mailbox.address}, over IMAP with TLS.
        Nothing is changed or deleted at the old provider, and nothing here is deleted. Run it again before you move the
        domain's DNS (and once after): each run copies only what arrived since the last one.
        The password is used for that run only and deleted when it ends; each run asks for it again.</p>
      ${
        runs.length === 0
          ? html`<p>No import yet.</p>`
          : html`<div class="table-wrap"><table class="responsive"><thead><tr><th>From</th><th>State</th><th>Folders</th><th>When</th></tr></thead><tbody>
        ${runs.map(
          (
            r,
          ) => html`<tr><td data-label="From"><strong>${r.source.username}</strong><div class="hint">${r.source.host}:${r.source.port} (${r.source.security}, ${r.source.address})</div></td>
          <td data-label="State"><span class="pill ${r.status === 'succeeded' ? 'applied' : r.status === 'failed' ? 'failed' : 'pending'}">${STATUS_LABEL[r.status]}</span>
            ${r.status === 'running' && r.progress ? html`<div class="hint">${r.progress}</div>` : ''}
            ${r.messagesCopied !== null ? html`<div>${r.messagesCopied} message(s) copied${r.simulated ? ' (simulated by the sandbox)' : ''}</div>` : ''}
            ${r.error ? html`<div class="bad">${r.error}</div>` : ''}</td>
          <td data-label="Folders">${r.folders.length === 0 ? '—' : html`<ul>${r.folders.map((f) => html`<li>${f.name}: ${f.messages} message(s)${f.copied > 0 ? html`, ${f.copied} new` : ''}</li>`)}</ul>`}</td>
          <td data-label="When">${when(r.requestedAt)}${r.finishedAt ? html`<div class="hint">ended ${when(r.finishedAt)}</div>` : ''}</td></tr>`,
        )}
      </tbody></table></div>`
      }
      ${
        underWay
          ? html`<p class="notice">An import is under way; reload this page to follow it.</p>`
          : html`<h2>${runs.length === 0 ? 'Import' : 'Import again'}</h2>
      <form method="post" action="${base}/import" class="stack card">
        ${field({ name: 'host', label: "Old provider's IMAP server", value: form['host'] ?? runs[0]?.source.host ?? '', autocomplete: 'off', hint: 'for example imap.example.com' })}
        ${field({ name: 'port', label: 'Port', type: 'number', value: form['port'] ?? String(runs[0]?.source.port ?? 993) })}
        <div><label for="f-security">Encryption</label><select id="f-security" name="security">
          <option value="imaps" ${(form['security'] ?? runs[0]?.source.security) !== 'starttls' ? 'selected' : ''}>TLS (port 993)</option>
          <option value="starttls" ${(form['security'] ?? runs[0]?.source.security) === 'starttls' ? 'selected' : ''}>STARTTLS (port 143)</option></select></div>
        ${field({ name: 'username', label: 'User name at the old provider', value: form['username'] ?? runs[0]?.source.username ?? '', autocomplete: 'off' })}
        ${field({ name: 'password', label: 'Password at the old provider', type: 'password', autocomplete: 'off' })}
        <div><button type="submit">Start the import</button></div></form>`
      }`,
    });
  };

  web.get('/w/:ws/servers/:id/mailboxes/:mb/import', (c) => importPage(c));
  web.post('/w/:ws/servers/:id/mailboxes/:mb/import', async (c) => {
    const page = await inWorkspace(deps, c, 'mailboxes.credentials');
    const form = await formOf(c);
    const { password, ...kept } = form;
    const host = (form['host'] ?? '').trim();
    const port = Number(form['port'] ?? '993');
    const security = form['security'] === 'starttls' ? 'starttls' : 'imaps';
    const username = form['username'] ?? '';
    // The API's rules (src/api/routes/mailbox-imports.ts), said in words.
    if (!host || host.length > 253) return importPage(c, { error: "Give the old provider's IMAP server.", form: kept });
    if (!Number.isInteger(port) || port < 1 || port > 65535) return importPage(c, { error: 'The port is a number from 1 to 65535.', form: kept });
    if (!username || username.length > 320 || /[\u0000-\u001f\u007f]/.test(username))
      return importPage(c, { error: 'Give the user name at the old provider.', form: kept });
    if (!password || password.length > 1024 || /[\u0000-\u001f\u007f]/.test(password))
      return importPage(c, { error: 'Give the password at the old provider.', form: kept });
    const importDeps = {
      database: deps.p.database,
      queue: deps.p.queue,
      vault: deps.p.mailboxes.vault,
      lookup: deps.p.lookup,
      policy: deps.api.config.mailboxImport,
    };
    try {
      await requestImport(importDeps, c.get('actor'), page.access, c.req.param('id'), c.req.param('mb'), { host, port, security, username, password });
    } catch (err) {
      return importPage(c, { error: refusal(err), form: kept });
    }
    return c.redirect(`/w/${page.workspace.id}/servers/${c.req.param('id')}/mailboxes/${c.req.param('mb')}/import`, 303);
  });
}
