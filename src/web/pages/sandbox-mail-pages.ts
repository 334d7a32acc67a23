/**
 * The sandbox mailbox (like Mailpit): every message the product sent while
 * no SMTP server is configured, with its links clickable. Only mounted when
 * the outbox is in use, which config refuses in production.
 */
import { html, raw } from 'hono/html';
import type { SandboxOutbox } from '../../mail/sandbox-outbox.ts';
import { renderPage } from '../layout.ts';
import type { WebApp, WebDeps } from '../web-env.ts';
import { currentUser } from '../web-session.ts';
import { when } from '../dates.ts';

const escapeHtml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** Escapes the whole text, then turns http(s) URLs (which escaping leaves intact apart from &amp;) into links. */
export function linkify(text: string): string {
  return escapeHtml(text).replace(/https?:\/\/[^\s<]+/g, (url) => `<a href="${url}">${url}</a>`);
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1)$/;
const LOOPBACK_HOST = /^(127\.\d+\.\d+\.\d+|::1|\[::1\]|localhost)$/i;

/**
 * The outbox holds every reset, verification and invitation link of every user: like Mailpit it is
 * for the developer at this machine, and then only when nobody else can reach the port at all —
 * the product listens on loopback only, no proxy forwards others to it (TRUST_PROXY: the client
 * address would then be whatever a header says, and every proxied visitor comes from loopback),
 * it is not production, and the caller is on loopback. Otherwise only staff may read it.
 */
export function sandboxMailOpenToThisMachine(o: { host: string; env: string; trustProxy: boolean; clientIp: string | null }): boolean {
  return LOOPBACK_HOST.test(o.host) && o.env !== 'production' && !o.trustProxy && LOOPBACK.test(o.clientIp ?? '');
}

export function registerSandboxMailPages(web: WebApp, deps: WebDeps, outbox: SandboxOutbox): void {
  const { config } = deps.api;
  web.use('/sandbox/mail/*', async (c, next) => {
    const local = sandboxMailOpenToThisMachine({ host: config.http.host, env: config.env, trustProxy: config.http.trustProxy, clientIp: c.get('clientIp') });
    if (!local && !(await currentUser(deps, c))?.staffRole) return c.notFound();
    await next();
  });
  web.get('/sandbox/mail', async (c) => {
    const mails = await outbox.list();
    return renderPage(c, {
      title: 'Sandbox mailbox',
      user: await currentUser(deps, c),
      sandboxMail: true,
      body: html`<p>No SMTP server is configured (<code>MAIL_SMTP_URL</code>), so every message mailplane sends lands here instead.</p>
      ${
        mails.length === 0
          ? html`<p>Nothing sent yet.</p>`
          : html`<div class="table-wrap"><table class="responsive"><thead><tr><th>When</th><th>To</th><th>Subject</th></tr></thead><tbody>
        ${mails.map(
          (m) => html`<tr><td data-label="When">${when(m.createdAt)}</td><td data-label="To">${m.to.join(', ')}</td>
          <td data-label="Subject"><a href="/sandbox/mail/${m.id}">${m.subject}</a></td></tr>`,
        )}
      </tbody></table></div>`
      }`,
    });
  });

  web.get('/sandbox/mail/:id', async (c) => {
    const mail = await outbox.get(c.req.param('id'));
    if (!mail) return c.notFound();
    return renderPage(c, {
      title: mail.subject,
      user: await currentUser(deps, c),
      sandboxMail: true,
      body: html`<dl class="facts card"><dt>From</dt><dd>${mail.from}</dd><dt>To</dt><dd>${mail.to.join(', ')}</dd><dt>Sent</dt><dd>${when(mail.createdAt)}</dd></dl>
        <pre class="mail-body">${raw(linkify(mail.text))}</pre><p><a href="/sandbox/mail">All messages</a></p>`,
    });
  });
}
