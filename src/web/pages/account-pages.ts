/**
 * The account page: who you are, email confirmation, data export (the API's
 * export document, downloaded) and erasure (password-confirmed), then a
 * progress page that follows the erasure until the account row is gone.
 */
import { eq } from 'drizzle-orm';
import { html } from 'hono/html';
import { users } from '../../db/schema/index.ts';
import { requestAccountErasure } from '../../gdpr/erase.ts';
import { exportUserData } from '../../gdpr/export.ts';
import { listWorkspacesOfUser } from '../../workspaces/workspaces.ts';
import { listActiveSessions, signOutOtherSessions, signOutSession } from '../../accounts/active-sessions.ts';
import { NotFoundError } from '../../errors.ts';
import { when } from '../dates.ts';
import { formOf, refusal } from '../forms.ts';
import { noticeOf, renderPage } from '../layout.ts';
import type { WebApp, WebContext, WebDeps } from '../web-env.ts';
import { clearSessionCookie, requireSignIn } from '../web-session.ts';
import { requireEnrolment } from '../two-factor-gate.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function registerAccountPages(web: WebApp, deps: WebDeps): void {
  const sandboxMail = deps.outbox !== null;
  const signedIn = requireSignIn(deps);
  const enrolled = requireEnrolment(deps);

  const accountPage = async (c: WebContext, error: string | null = null) => {
    const user = c.get('user');
    const mine = await listWorkspacesOfUser(deps.api.db, user.id);
    const sole = mine.filter((w) => w.role === 'owner');
    const devices = await listActiveSessions(deps.api.db, user.id, user.sessionId);
    return renderPage(c, {
      title: 'Your account',
      user,
      sandboxMail,
      error,
      notice: noticeOf(c),
      status: error ? 400 : 200,
      body: html`<section class="card" aria-labelledby="me-h"><h2 id="me-h">Profile</h2><dl class="facts">
        <dt>Name</dt><dd>${user.name}</dd><dt>Email</dt><dd>${user.email} ${user.emailVerified ? html`<span class="pill ok">confirmed</span>` : html`<span class="pill warn">not confirmed</span>`}</dd>
        ${user.staffRole ? html`<dt>Staff role</dt><dd>${user.staffRole}</dd>` : ''}</dl>
        <p><a href="/forgot-password">Change your password</a> (we email you a link).</p>
        <p>Two-factor sign-in: ${user.twoFactor ? html`<span class="pill ok">on</span>` : html`<span class="pill warn">off</span>`} <a href="/account/two-factor">Manage two-factor sign-in</a></p></section>
      <section class="card" aria-labelledby="sessions-h"><h2 id="sessions-h">Where you are signed in</h2>
        <div class="table-wrap"><table class="responsive"><thead><tr><th>Signed in</th><th>From</th><th>Browser or app</th><th></th></tr></thead><tbody>
        ${devices.map(
          (
            d,
          ) => html`<tr><td data-label="Signed in">${when(d.createdAt)}</td><td data-label="From">${d.ip ?? 'unknown'}</td><td data-label="Browser or app">${d.userAgent ?? 'unknown'}</td>
          <td>${d.current ? html`<span class="pill ok">this session</span>` : html`<form method="post" action="/account/sessions/${d.id}/sign-out"><button type="submit" class="secondary">Sign out</button></form>`}</td></tr>`,
        )}
        </tbody></table></div>
        ${devices.length > 1 ? html`<form method="post" action="/account/sessions/sign-out-others"><button type="submit" class="secondary">Sign out everywhere else</button></form>` : ''}</section>
      <section class="card" aria-labelledby="exp-h"><h2 id="exp-h">Your data</h2>
        <p>Download everything mailplane holds about you as one JSON document (secrets are listed, never included).</p>
        <p><a class="button secondary" href="/account/export" download>Download my data</a></p></section>
      <section class="card" aria-labelledby="erase-h"><h2 id="erase-h">Erase your account</h2>
        <p>This signs you out for good.${sole.length ? html` Workspaces you own are erased with it unless they have another owner: <strong>${sole.map((w) => w.name).join(', ')}</strong>; their servers are deprovisioned and subscriptions cancelled.` : ''}</p>
        <form method="post" action="/account/erase" class="stack" data-confirm="Erase your account for good?">
          <div><label for="erase-password">Your password, to confirm</label><input id="erase-password" name="password" type="password" autocomplete="current-password" required></div>
          <div><button type="submit" class="danger">Erase my account</button></div></form></section>`,
    });
  };

  web.get('/account', signedIn, enrolled, (c) => accountPage(c));
  web.post('/account/sessions/sign-out-others', signedIn, async (c) => {
    const user = c.get('user');
    await signOutOtherSessions(deps.api.db, c.get('actor'), user.id, user.sessionId);
    return c.redirect('/account?notice=other_sessions_signed_out', 303);
  });
  web.post('/account/sessions/:id/sign-out', signedIn, async (c) => {
    const user = c.get('user');
    const id = c.req.param('id');
    try {
      if (!UUID.test(id)) throw new NotFoundError('Session');
      await signOutSession(deps.api.db, c.get('actor'), user.id, id);
    } catch (err) {
      return accountPage(c, refusal(err));
    }
    if (id === user.sessionId) {
      clearSessionCookie(c);
      return c.redirect('/login?notice=signed_out', 303);
    }
    return c.redirect('/account?notice=session_signed_out', 303);
  });
  web.get('/account/export', signedIn, enrolled, async (c) => {
    const user = c.get('user');
    c.header('content-disposition', `attachment; filename="mailplane-export-${user.id}.json"`);
    c.header('cache-control', 'no-store');
    return c.json(await exportUserData(deps.api.db, user.id));
  });
  web.post('/account/erase', signedIn, async (c) => {
    const user = c.get('user');
    try {
      await requestAccountErasure(deps.p.erasure, user.id, (await formOf(c))['password'] ?? '');
      clearSessionCookie(c);
      return c.redirect(`/goodbye?u=${user.id}`, 303);
    } catch (err) {
      return accountPage(c, refusal(err));
    }
  });

  // Public: the session is gone by now. The id is an unguessable UUID and the page says only "under way" or "done".
  web.get('/goodbye', async (c) => {
    const id = c.req.query('u') ?? '';
    const [row] = UUID.test(id) ? await deps.api.db.select({ id: users.id }).from(users).where(eq(users.id, id)) : [];
    return renderPage(c, {
      title: row ? 'Erasure under way' : 'Your account is erased',
      sandboxMail,
      body: row
        ? html`<div class="card" data-refresh="3"><p><span class="spinner" aria-hidden="true"></span> Deprovisioning servers, cancelling subscriptions and deleting your data. This page updates by itself.</p></div>`
        : html`<div class="card"><p>Everything is deleted. Thank you for using mailplane.</p></div>`,
    });
  });
}
