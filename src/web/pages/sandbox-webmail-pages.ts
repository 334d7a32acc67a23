/**
 * The sandbox's stand-in for an emulated server's webmail. An emulated server has no Roundcube and
 * no name a browser can resolve, so "Open webmail" would end on a browser error: its link points
 * here instead, and this page does what the server's login endpoint does (templates/webmail/
 * webmail-login.py): checks the token with the key the server was given, accepts each token once,
 * and says who would now be signed in to Roundcube — or why the server would refuse.
 */
import { html } from 'hono/html';
import { checkWebmailToken } from '../../mailstack/webmail-token.ts';
import { renderPage } from '../layout.ts';
import type { WebApp, WebDeps, WebmailStandIn } from '../web-env.ts';

export function registerSandboxWebmailPages(web: WebApp, deps: WebDeps, standIn: WebmailStandIn): void {
  // As the server's nonce store: a token's nonce is kept until it could no longer be valid anyway.
  const used = new Map<string, number>();
  const sandboxMail = deps.outbox !== null;
  web.get('/sandbox/webmail/:serverId', async (c) => {
    const nowSeconds = Math.floor(standIn.now() / 1000);
    for (const [nonce, exp] of used) if (exp < nowSeconds - 65) used.delete(nonce);
    const server = /^[0-9a-f-]{36}$/i.test(c.req.param('serverId')) ? await standIn.keyOf(c.req.param('serverId')) : null;
    if (!server) return renderPage(c, { title: 'Sandbox webmail', sandboxMail, status: 404, body: html`<p>No emulated server here.</p>` });
    const checked = checkWebmailToken(c.req.query('token') ?? '', server.key, nowSeconds, server.domain);
    const refused = 'refused' in checked ? checked.refused : used.has(checked.nonce) ? 'already used' : null;
    if (refused || 'refused' in checked) {
      return renderPage(c, {
        title: 'Webmail login refused',
        sandboxMail,
        status: 403,
        body: html`<div class="card"><p>The server would refuse this link: <strong>${refused}</strong>. A login link works once, within a minute; open webmail again from the mailbox list for a new one.</p></div>`,
      });
    }
    used.set(checked.nonce, checked.exp);
    return renderPage(c, {
      title: 'Sandbox webmail',
      sandboxMail,
      body: html`<div class="card" role="status"><h2>Signed in as ${checked.mailbox}</h2>
        <p>On a real server this link opens Roundcube at <code>https://webmail.${server.domain}</code>, signed in as
        <strong>${checked.mailbox}</strong> without a password. This sandbox server is emulated and runs no Roundcube, so this page stands in
        for it: the link was checked with the key the server holds, as its login endpoint checks it, and is now used up — opening it again is refused.</p></div>`,
    });
  });
}
