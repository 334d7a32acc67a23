/**
 * Mailboxes: create (the generated password shown once, with a copy button),
 * reset, export (owners and admins, with a reason; audited, rate-limited like
 * the API), delete, quota and sync state, and webmail in one click (a POST
 * that redirects to the single-use login link).
 */
import { html } from 'hono/html';
import { LocalPart } from '../../mailboxes/local-part.ts';
import { issueWebmailLogin } from '../../mailboxes/webmail.ts';
import { createMailbox, deleteMailbox, exportMailboxPassword, listMailboxes, resetMailboxPassword } from '../../mailboxes/service.ts';
import { findServer } from '../../servers/views.ts';
import { copyable, field, formOf, refusal } from '../forms.ts';
import { noticeOf, renderPage } from '../layout.ts';
import type { WebApp, WebContext, WebDeps } from '../web-env.ts';
import { inWorkspace } from '../workspace-context.ts';
import { serverTabs } from './server-pages.ts';
import { spamSettingsSection } from './mail-guard-pages.ts';

export function registerMailboxPages(web: WebApp, deps: WebDeps): void {
  const sandboxMail = deps.outbox !== null;
  const m = deps.p.mailboxes;

  const mailboxPage = async (c: WebContext, extra: { error?: string; secret?: { address: string; password: string; why: string } } = {}) => {
    const page = await inWorkspace(deps, c, 'mailboxes.read');
    const server = await findServer(deps.api.db, c.req.param('id') ?? '', page.workspace.id);
    const boxes = (await listMailboxes(deps.api.db, page.access, server.id)).filter((b) => b.state === 'active');
    const base = `/w/${page.workspace.id}/servers/${server.id}/mailboxes`;
    const manage = page.can('mailboxes.manage');
    const exportable = page.can('mailboxes.exportPassword');
    const spam = await spamSettingsSection(
      deps,
      page.access,
      server.id,
      `/w/${page.workspace.id}/servers/${server.id}`,
      page.can('mailboxes.spamSettings') && server.status === 'ready',
    );
    // Members see the credentials link of the mailboxes assigned to them only (the page refuses the others).
    const credentials = (b: { assigneeUserId: string | null }) => manage || b.assigneeUserId === c.get('user').id;
    const usage = (b: { usedBytes: number | null; usageCollectedAt: Date | null; quotaMb: number }) =>
      b.usageCollectedAt
        ? `${((b.usedBytes ?? 0) / 1024 / 1024).toFixed(1)} MB used of ${(b.quotaMb / 1024).toFixed(1)} GB (${Math.min(100, Math.round(((b.usedBytes ?? 0) / (b.quotaMb * 1024 * 1024)) * 100))} %)`
        : `${(b.quotaMb / 1024).toFixed(1)} GB (use not read yet)`;
    return renderPage(c, {
      title: `Mailboxes of ${server.domain}`,
      user: c.get('user'),
      workspace: page.workspace,
      sandboxMail,
      error: extra.error ?? null,
      notice: noticeOf(c),
      status: extra.error ? 400 : 200,
      body: html`${serverTabs(page.workspace.id, server.id, '/mailboxes')}
      ${
        extra.secret
          ? html`<div class="card" role="status"><h2>${extra.secret.why}: ${extra.secret.address}</h2>
        <p>Copy the password now; it is not shown again on this page.</p>${copyable('mailbox-password', extra.secret.password, `the password of ${extra.secret.address}`)}</div>`
          : ''
      }
      ${server.status !== 'ready' ? html`<p class="notice">Mailboxes can be added once the server is ready (it is ${server.status}).</p>` : ''}
      ${
        boxes.length === 0
          ? html`<p>No mailbox yet.</p>`
          : html`<div class="table-wrap"><table class="responsive"><thead><tr><th>Address</th><th>Quota</th><th>On the server</th><th>Actions</th></tr></thead><tbody>
        ${boxes.map(
          (b) => html`<tr><td data-label="Address"><strong>${b.address}</strong>${b.displayName ? html`<div class="hint">${b.displayName}</div>` : ''}</td>
          <td data-label="Quota">${usage(b)}</td>
          <td data-label="On the server"><span class="pill ${b.syncStatus}">${b.syncStatus}</span>${b.syncError ? html`<div class="bad">${b.syncError}</div>` : ''}</td>
          <td data-label="Actions" class="actions">
            <form method="post" action="${base}/${b.id}/webmail"><button type="submit">Open webmail for ${b.localPart}</button></form>
            ${credentials(b) ? html`<a href="${base}/${b.id}/app-passwords">App passwords of ${b.localPart}</a>${b.mainPasswordForClients ? '' : html`<div class="hint">main password off for mail clients</div>`}` : ''}
            ${credentials(b) ? html`<div><a href="${base}/${b.id}/import">Import mail into ${b.localPart}</a></div>` : ''}
            ${manage ? html`<form method="post" action="${base}/${b.id}/reset" data-confirm="Replace the password of ${b.address}? Mail clients using the old one stop working."><button type="submit" class="secondary">Reset password of ${b.localPart}</button></form>` : ''}
            ${
              exportable
                ? html`<details><summary>Show password of ${b.localPart}</summary><form method="post" action="${base}/${b.id}/export" class="stack">
              <div><label for="reason-${b.id}">Reason (kept in the audit log)</label><input id="reason-${b.id}" name="reason" minlength="3" maxlength="200" required></div>
              <div><button type="submit" class="secondary">Show password</button></div></form></details>`
                : ''
            }
            ${manage ? html`<form method="post" action="${base}/${b.id}/delete" data-confirm="Delete ${b.address} and all its mail?"><button type="submit" class="danger">Delete ${b.localPart}</button></form>` : ''}
          </td></tr>`,
        )}
      </tbody></table></div>`
      }
      ${
        manage && server.status === 'ready'
          ? html`<h2>New mailbox</h2><form method="post" action="${base}" class="stack card">
        ${field({ name: 'localPart', label: `Address (before @${server.domain})`, autocomplete: 'off' })}
        ${field({ name: 'displayName', label: 'Display name', required: false, autocomplete: 'off' })}
        <div><button type="submit">Create mailbox</button></div></form>`
          : ''
      }
      ${spam}`,
    });
  };

  web.get('/w/:ws/servers/:id/mailboxes', (c) => mailboxPage(c));
  web.post('/w/:ws/servers/:id/mailboxes', async (c) => {
    const page = await inWorkspace(deps, c, 'mailboxes.manage');
    const form = await formOf(c);
    const localPart = LocalPart.safeParse(form['localPart'] ?? '');
    if (!localPart.success) return mailboxPage(c, { error: 'Use letters, digits, dots, hyphens or underscores before the @.' });
    const displayName = (form['displayName'] ?? '').trim();
    if (/[\r\n<>"]/.test(displayName) || displayName.length > 100)
      return mailboxPage(c, { error: 'The display name cannot contain line breaks, <, > or " (up to 100 characters).' });
    try {
      const { mailbox, password } = await createMailbox(m, c.get('actor'), page.access, c.req.param('id'), {
        localPart: localPart.data,
        ...(displayName ? { displayName } : {}),
      });
      return mailboxPage(c, { secret: { address: mailbox.address, password, why: 'Mailbox created' } });
    } catch (err) {
      return mailboxPage(c, { error: refusal(err) });
    }
  });
  web.post('/w/:ws/servers/:id/mailboxes/:mb/reset', async (c) => {
    const page = await inWorkspace(deps, c, 'mailboxes.manage');
    try {
      const { mailbox, password } = await resetMailboxPassword(m, c.get('actor'), page.access, c.req.param('id'), c.req.param('mb'));
      return mailboxPage(c, { secret: { address: mailbox.address, password, why: 'New password' } });
    } catch (err) {
      return mailboxPage(c, { error: refusal(err) });
    }
  });
  web.post('/w/:ws/servers/:id/mailboxes/:mb/export', async (c) => {
    const page = await inWorkspace(deps, c, 'mailboxes.exportPassword');
    const reason = ((await formOf(c))['reason'] ?? '').trim();
    if (reason.length < 3 || reason.length > 200) return mailboxPage(c, { error: 'Give a reason (3 to 200 characters): it is kept in the audit log.' });
    try {
      const waitMs = deps.api.limiters.passwordExport.hit(`user:${c.get('user').id}`);
      if (waitMs > 0) return mailboxPage(c, { error: `Too many passwords shown in the last hour; try again in ${Math.ceil(waitMs / 60_000)} minutes.` });
      const { address, password } = await exportMailboxPassword(m, c.get('actor'), page.access, c.req.param('id'), c.req.param('mb'), reason);
      return mailboxPage(c, { secret: { address, password, why: 'Password' } });
    } catch (err) {
      return mailboxPage(c, { error: refusal(err) });
    }
  });
  web.post('/w/:ws/servers/:id/mailboxes/:mb/delete', async (c) => {
    const page = await inWorkspace(deps, c, 'mailboxes.manage');
    try {
      await deleteMailbox(m, c.get('actor'), page.access, c.req.param('id'), c.req.param('mb'));
    } catch (err) {
      return mailboxPage(c, { error: refusal(err) });
    }
    return c.redirect(`/w/${page.workspace.id}/servers/${c.req.param('id')}/mailboxes?notice=mailbox_deleted`, 303);
  });
  web.post('/w/:ws/servers/:id/mailboxes/:mb/webmail', async (c) => {
    const page = await inWorkspace(deps, c, 'mailboxes.webmail');
    try {
      const { url } = await issueWebmailLogin(m, c.get('actor'), page.access, c.req.param('id'), c.req.param('mb'));
      return c.redirect(url, 303);
    } catch (err) {
      return mailboxPage(c, { error: refusal(err) });
    }
  });
}
