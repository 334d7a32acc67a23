/**
 * Issue 23's mail guard in the dashboard: a mailbox's app passwords (created with a name and
 * scopes, the password shown once with a copy button, revoked one by one, last use shown) and
 * the switch that keeps its main password off IMAP and SMTP; the domain's junk score. Same
 * services and permissions as the API (members: only the mailboxes assigned to them).
 */
import { html } from 'hono/html';
import type { AppPasswordScope } from '../../db/schema/index.ts';
import { createAppPassword, listAppPasswords, revokeAppPassword, setMainPasswordForClients } from '../../mailboxes/app-passwords.ts';
import { findMailbox } from '../../mailboxes/service.ts';
import { getSpamSettings, setJunkScore } from '../../mailboxes/spam-settings.ts';
import { JUNK_SCORE_RANGE } from '../../mailstack/mail-guard-files.ts';
import { findServer } from '../../servers/views.ts';
import { copyable, field, formOf, refusal } from '../forms.ts';
import { noticeOf, renderPage } from '../layout.ts';
import type { WebApp, WebContext, WebDeps } from '../web-env.ts';
import { inWorkspace } from '../workspace-context.ts';
import { serverTabs } from './server-pages.ts';

const SCOPE_LABEL: Record<string, string> = { imap: 'IMAP (reading mail)', smtp: 'SMTP (sending mail)' };
const when = (d: Date) => d.toISOString().replace('T', ' ').slice(0, 16) + ' UTC';

export function registerMailGuardPages(web: WebApp, deps: WebDeps): void {
  const sandboxMail = deps.outbox !== null;
  const m = deps.p.mailboxes;

  const credentialsPage = async (c: WebContext, extra: { error?: string; secret?: { name: string; password: string } } = {}) => {
    const page = await inWorkspace(deps, c, 'mailboxes.credentials');
    const server = await findServer(deps.api.db, c.req.param('id') ?? '', page.workspace.id);
    const mailbox = await findMailbox(deps.api.db, server.id, c.req.param('mb') ?? '');
    const passwords = await listAppPasswords(deps.api.db, page.access, server.id, mailbox.id);
    const base = `/w/${page.workspace.id}/servers/${server.id}/mailboxes/${mailbox.id}`;
    const active = passwords.filter((p) => !p.revokedAt);
    return renderPage(c, {
      title: `App passwords of ${mailbox.address}`,
      user: c.get('user'),
      workspace: page.workspace,
      sandboxMail,
      error: extra.error ?? null,
      notice: noticeOf(c),
      status: extra.error ? 400 : 200,
      body: html`${serverTabs(page.workspace.id, server.id, '/mailboxes')}
      <p><a href="/w/${page.workspace.id}/servers/${server.id}/mailboxes">Back to the mailboxes</a></p>
      ${
        extra.secret
          ? html`<div class="card" role="status"><h2>App password "${extra.secret.name}" created</h2>
        <p>Enter it in the mail client as the password of ${mailbox.address}. Copy it now: it is never shown again.</p>${copyable('app-password', extra.secret.password, `the app password ${extra.secret.name}`)}</div>`
          : ''
      }
      <h2>Main password for mail clients</h2>
      <p>${
        mailbox.mainPasswordForClients
          ? 'Mail clients may log in with the main password over IMAP and SMTP.'
          : 'The main password is refused over IMAP and SMTP: mail clients need an app password. The webmail keeps working.'
      }
        <span class="pill ${mailbox.syncStatus}">${mailbox.syncStatus}</span></p>
      <form method="post" action="${base}/main-password" data-confirm="${mailbox.mainPasswordForClients ? `Mail clients using the main password of ${mailbox.address} stop working. Continue?` : 'Allow the main password for mail clients again?'}">
        <input type="hidden" name="enabled" value="${mailbox.mainPasswordForClients ? 'false' : 'true'}">
        <button type="submit" class="secondary">${mailbox.mainPasswordForClients ? 'Refuse the main password for mail clients' : 'Allow the main password for mail clients'}</button></form>
      <h2>App passwords</h2>
      ${
        passwords.length === 0
          ? html`<p>No app password yet.</p>`
          : html`<div class="table-wrap"><table class="responsive"><thead><tr><th>Name</th><th>For</th><th>Last used</th><th>Actions</th></tr></thead><tbody>
        ${passwords.map(
          (p) => html`<tr><td data-label="Name"><strong>${p.name}</strong><div class="hint">created ${when(p.createdAt)}</div></td>
          <td data-label="For">${p.scopes.map((s) => SCOPE_LABEL[s] ?? s).join(', ')}</td>
          <td data-label="Last used">${p.lastUsedAt ? html`${when(p.lastUsedAt)}<div class="hint">from ${p.lastUsedIp ?? 'an unknown address'} (${p.lastUsedService ?? '?'})</div>` : 'never'}</td>
          <td data-label="Actions">${p.revokedAt ? html`revoked ${when(p.revokedAt)}` : html`<form method="post" action="${base}/app-passwords/${p.id}/revoke" data-confirm="Revoke ${p.name}? Clients using it stop working."><button type="submit" class="danger">Revoke ${p.name}</button></form>`}</td></tr>`,
        )}
      </tbody></table></div>`
      }
      ${
        active.length < 10
          ? html`<h2>New app password</h2><form method="post" action="${base}/app-passwords" class="stack card">
        ${field({ name: 'name', label: 'Name (the device or program that will use it)', autocomplete: 'off' })}
        <fieldset><legend>Allowed for</legend>
          <div><input type="checkbox" id="scope-imap" name="imap" value="on" checked> <label for="scope-imap">${SCOPE_LABEL['imap']}</label></div>
          <div><input type="checkbox" id="scope-smtp" name="smtp" value="on" checked> <label for="scope-smtp">${SCOPE_LABEL['smtp']}</label></div></fieldset>
        <div><button type="submit">Create app password</button></div></form>`
          : html`<p class="notice">This mailbox has 10 app passwords: revoke one to make another.</p>`
      }`,
    });
  };

  web.get('/w/:ws/servers/:id/mailboxes/:mb/app-passwords', (c) => credentialsPage(c));
  web.post('/w/:ws/servers/:id/mailboxes/:mb/app-passwords', async (c) => {
    const page = await inWorkspace(deps, c, 'mailboxes.credentials');
    const form = await formOf(c);
    const name = (form['name'] ?? '').trim();
    const scopes = (['imap', 'smtp'] as AppPasswordScope[]).filter((s) => form[s] === 'on');
    if (!name || name.length > 60 || /[\r\n<>"]/.test(name))
      return credentialsPage(c, { error: 'Give the app password a name (up to 60 characters, no line breaks, <, > or ").' });
    if (scopes.length === 0) return credentialsPage(c, { error: 'Allow the app password for IMAP, SMTP or both.' });
    try {
      const { appPassword, password } = await createAppPassword(m, c.get('actor'), page.access, c.req.param('id'), c.req.param('mb'), { name, scopes });
      return credentialsPage(c, { secret: { name: appPassword.name, password } });
    } catch (err) {
      return credentialsPage(c, { error: refusal(err) });
    }
  });
  web.post('/w/:ws/servers/:id/mailboxes/:mb/app-passwords/:ap/revoke', async (c) => {
    const page = await inWorkspace(deps, c, 'mailboxes.credentials');
    try {
      await revokeAppPassword(m, c.get('actor'), page.access, c.req.param('id'), c.req.param('mb'), c.req.param('ap'));
    } catch (err) {
      return credentialsPage(c, { error: refusal(err) });
    }
    return c.redirect(`/w/${page.workspace.id}/servers/${c.req.param('id')}/mailboxes/${c.req.param('mb')}/app-passwords`, 303);
  });
  web.post('/w/:ws/servers/:id/mailboxes/:mb/main-password', async (c) => {
    const page = await inWorkspace(deps, c, 'mailboxes.credentials');
    const enabled = (await formOf(c))['enabled'] === 'true';
    try {
      await setMainPasswordForClients(m, c.get('actor'), page.access, c.req.param('id'), c.req.param('mb'), enabled);
    } catch (err) {
      return credentialsPage(c, { error: refusal(err) });
    }
    return c.redirect(`/w/${page.workspace.id}/servers/${c.req.param('id')}/mailboxes/${c.req.param('mb')}/app-passwords`, 303);
  });

  /** The junk score form on the mailboxes page posts here; the page itself shows the current value. */
  web.post('/w/:ws/servers/:id/spam-settings', async (c) => {
    const page = await inWorkspace(deps, c, 'mailboxes.spamSettings');
    const raw = ((await formOf(c))['junkScore'] ?? '').trim();
    const score = Number(raw);
    const back = `/w/${page.workspace.id}/servers/${c.req.param('id')}/mailboxes`;
    if (!/^\d{1,2}(\.\d)?$/.test(raw) || score < JUNK_SCORE_RANGE.min || score > JUNK_SCORE_RANGE.max)
      return c.redirect(`${back}?notice=junk_score_invalid`, 303);
    try {
      await setJunkScore(m, c.get('actor'), page.access, c.req.param('id'), score);
    } catch (err) {
      refusal(err);
      return c.redirect(`${back}?notice=junk_score_refused`, 303);
    }
    return c.redirect(`${back}?notice=junk_score_saved`, 303);
  });
}

/** The mailboxes page's junk score section (rendered there, posted above). */
export async function spamSettingsSection(deps: WebDeps, access: Parameters<typeof getSpamSettings>[1], serverId: string, base: string, canChange: boolean) {
  const s = await getSpamSettings(deps.api.db, access, serverId);
  return html`<h2>Spam</h2><p>Mail for ${s.domain} that Rspamd scores ${s.junkScore} or more goes into each mailbox's Junk folder${s.isDefault ? ' (the default)' : ''}; from 15 it is refused.
    Moving a message into or out of Junk teaches the filter.</p>
    ${
      canChange
        ? html`<form method="post" action="${base}/spam-settings" class="row">
      <div><label for="f-junkScore">Junk score (${JUNK_SCORE_RANGE.min}–${JUNK_SCORE_RANGE.max}; lower files more mail into Junk)</label>
      <input id="f-junkScore" name="junkScore" type="number" min="${JUNK_SCORE_RANGE.min}" max="${JUNK_SCORE_RANGE.max}" step="0.1" value="${s.junkScore}" required></div>
      <div><button type="submit" class="secondary">Save junk score</button></div></form>`
        : ''
    }`;
}
