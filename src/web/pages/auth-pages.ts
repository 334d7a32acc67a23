/**
 * Sign up, sign in, sign out, forgot/reset password and email verification.
 * The same account services as /v1/auth; the session cookie is the API's.
 * Emailed links open a page with a button (GET never consumes a token), so a
 * mail scanner prefetching the link cannot use it up.
 */
import { AppError } from '../../errors.ts';
import { html } from 'hono/html';
import { logIn, logOut, signUp } from '../../accounts/accounts.ts';
import { requestPasswordReset, resetPassword, sendEmailVerification, verifyEmail } from '../../accounts/recovery.ts';
import { Email } from '../../api/openapi.ts';
import { field, formOf, hitLimit, refusal } from '../forms.ts';
import { noticeOf, renderPage } from '../layout.ts';
import type { WebApp, WebContext, WebDeps } from '../web-env.ts';
import { clearSessionCookie, currentUser, safeNext, setSessionCookie } from '../web-session.ts';
import { secondFactorPage } from './second-factor-login-pages.ts';

const meta = (c: { get(k: 'clientIp'): string | null; req: { header(n: string): string | undefined } }) => ({
  ip: c.get('clientIp'),
  userAgent: c.req.header('user-agent') ?? null,
});

export function registerAuthPages(web: WebApp, deps: WebDeps): void {
  const sandboxMail = deps.outbox !== null;
  const emailOf = (raw: string | undefined) => {
    const parsed = Email.safeParse(raw ?? '');
    return parsed.success ? parsed.data : null;
  };

  const loginPage = (c: WebContext, error: string | null = null, email = '', status: 200 | 400 | 429 = error ? 400 : 200) =>
    renderPage(c, {
      title: 'Sign in',
      sandboxMail,
      error,
      notice: noticeOf(c),
      body: html`<form method="post" action="/login?next=${encodeURIComponent(safeNext(c.req.query('next')))}" class="stack card">
      ${field({ name: 'email', label: 'Email', type: 'email', value: email, autocomplete: 'username' })}
      ${field({ name: 'password', label: 'Password', type: 'password', autocomplete: 'current-password' })}
      <div class="row"><button type="submit">Sign in</button> <a href="/forgot-password">Forgot your password?</a></div>
    </form><p>New here? <a href="/signup?next=${encodeURIComponent(safeNext(c.req.query('next')))}">Create an account</a>.</p>`,
      status,
    });

  web.get('/login', async (c) => ((await currentUser(deps, c)) ? c.redirect(safeNext(c.req.query('next')), 303) : loginPage(c)));
  web.post('/login', async (c) => {
    const form = await formOf(c);
    const email = emailOf(form['email']);
    try {
      hitLimit(deps.api.limiters.auth, c);
      if (!email) return loginPage(c, 'Enter the email address of your account.', form['email'] ?? '');
      const result = await logIn(deps.api, { email, password: form['password'] ?? '' }, meta(c));
      if (result.kind === 'second_factor')
        return secondFactorPage(c, deps, { challenge: result.challenge, methods: result.methods, next: safeNext(c.req.query('next')) });
      setSessionCookie(c, result.token, result.expiresAt);
      return c.redirect(safeNext(c.req.query('next')), 303);
    } catch (err) {
      // A throttled sign-in is a 429 with Retry-After, as the API answers it, not a form error.
      if (err instanceof AppError && err.status === 429) {
        if (err.retryAfterMs !== undefined) c.header('retry-after', String(Math.max(1, Math.ceil(err.retryAfterMs / 1000))));
        return loginPage(c, refusal(err), email ?? '', 429);
      }
      return loginPage(c, refusal(err), email ?? '');
    }
  });

  const signupPage = (c: WebContext, error: string | null = null, v: Record<string, string> = {}) =>
    renderPage(c, {
      title: 'Create your account',
      sandboxMail,
      error,
      status: error ? 400 : 200,
      body: html`<form method="post" action="/signup?next=${encodeURIComponent(safeNext(c.req.query('next')))}" class="stack card">
      ${field({ name: 'name', label: 'Your name', value: v['name'] ?? '', autocomplete: 'name' })}
      ${field({ name: 'email', label: 'Email', type: 'email', value: v['email'] ?? '', autocomplete: 'email' })}
      ${field({ name: 'password', label: 'Password', type: 'password', autocomplete: 'new-password', hint: 'At least 12 characters; not your name or email.' })}
      <div><button type="submit">Create account</button></div>
    </form><p>Already have an account? <a href="/login?next=${encodeURIComponent(safeNext(c.req.query('next')))}">Sign in</a>.</p>`,
    });

  web.get('/signup', (c) => signupPage(c));
  web.get('/signup/check-mail', (c) =>
    renderPage(c, {
      title: 'Check your mail',
      sandboxMail,
      body: html`<div class="stack card"><p>We sent a message to the address you gave. Open the link in it to confirm your address:
      that signs you in and takes you on from where you started.</p>
      ${sandboxMail ? html`<p>This is the sandbox: no mail leaves this machine. <a href="/sandbox/mail">Open the sandbox mailbox</a> to read it.</p>` : ''}
      <p>Nothing arrived after a few minutes? Look in your spam folder. If you already had an account with this address,
      the message says so: <a href="/login">sign in</a> or <a href="/forgot-password">reset your password</a>.</p></div>`,
    }),
  );
  web.post('/signup', async (c) => {
    const form = await formOf(c);
    const email = emailOf(form['email']);
    const name = (form['name'] ?? '').trim();
    try {
      hitLimit(deps.api.limiters.auth, c);
      if (!email) return signupPage(c, 'Enter a valid email address.', form);
      if (!name || name.length > 120) return signupPage(c, 'Enter your name (up to 120 characters).', form);
      // The same answer whether or not the address has an account: the mail says which it was.
      await signUp(deps.api, { email, name, password: form['password'] ?? '', next: safeNext(c.req.query('next')) }, meta(c));
      return c.redirect('/signup/check-mail', 303);
    } catch (err) {
      return signupPage(c, refusal(err), { ...form, password: '' });
    }
  });

  web.post('/logout', async (c) => {
    const user = await currentUser(deps, c);
    if (user) await logOut(deps.api, c.get('actor'), user.sessionId);
    clearSessionCookie(c);
    return c.redirect('/login?notice=signed_out', 303);
  });

  const forgotPage = (c: WebContext, error: string | null = null) =>
    renderPage(c, {
      title: 'Reset your password',
      sandboxMail,
      error,
      notice: noticeOf(c),
      status: error ? 400 : 200,
      body: html`<form method="post" action="/forgot-password" class="stack card">
      ${field({ name: 'email', label: 'Email of your account', type: 'email', autocomplete: 'email' })}
      <div><button type="submit">Email me a link</button></div></form>`,
    });
  web.get('/forgot-password', (c) => forgotPage(c));
  web.post('/forgot-password', async (c) => {
    const email = emailOf((await formOf(c))['email']);
    try {
      hitLimit(deps.api.limiters.auth, c);
      if (!email) return forgotPage(c, 'Enter a valid email address.');
      await requestPasswordReset(deps.recovery, email, c.get('clientIp'));
      return c.redirect('/forgot-password?notice=reset_sent', 303);
    } catch (err) {
      return forgotPage(c, refusal(err));
    }
  });

  const resetPage = (c: WebContext, token: string, error: string | null = null) =>
    renderPage(c, {
      title: 'Choose a new password',
      sandboxMail,
      error,
      status: error ? 400 : 200,
      body: html`<form method="post" action="/reset-password" class="stack card">
      <input type="hidden" name="token" value="${token}">
      ${field({ name: 'password', label: 'New password', type: 'password', autocomplete: 'new-password', hint: 'At least 12 characters.' })}
      <div><button type="submit">Set password</button></div></form>`,
    });
  web.get('/reset-password', (c) => resetPage(c, c.req.query('token') ?? ''));
  web.post('/reset-password', async (c) => {
    const form = await formOf(c);
    try {
      hitLimit(deps.api.limiters.auth, c);
      await resetPassword(deps.recovery, form['token'] ?? '', form['password'] ?? '', c.get('clientIp'));
      clearSessionCookie(c);
      return c.redirect('/login?notice=password_changed', 303);
    } catch (err) {
      return resetPage(c, form['token'] ?? '', refusal(err));
    }
  });

  // `next` came through the mailed link, so it is checked again here (safeNext: a path on this site).
  web.get('/verify-email', async (c) =>
    renderPage(c, {
      title: 'Confirm your email address',
      sandboxMail,
      user: await currentUser(deps, c),
      body: html`<form method="post" action="/verify-email?next=${encodeURIComponent(safeNext(c.req.query('next')))}" class="stack card"><input type="hidden" name="token" value="${c.req.query('token') ?? ''}">
      <p>Confirm that this address is yours.</p><div><button type="submit">Confirm my email address</button></div></form>`,
    }),
  );
  web.post('/verify-email', async (c) => {
    const form = await formOf(c);
    try {
      hitLimit(deps.api.limiters.auth, c);
      // Confirming signs in, as the API's POST /v1/auth/email/verify does.
      const { session } = await verifyEmail(deps.recovery, form['token'] ?? '', meta(c));
      const next = safeNext(c.req.query('next'));
      // An account with a second factor signs in with it: the link alone is not enough.
      if (!session) return c.redirect(`/login?notice=verified&next=${encodeURIComponent(next)}`, 303);
      setSessionCookie(c, session.token, session.expiresAt);
      return c.redirect(next === '/' ? '/workspaces?notice=verified' : next, 303);
    } catch (err) {
      return renderPage(c, {
        title: 'Confirm your email address',
        sandboxMail,
        error: refusal(err),
        status: 400,
        body: html`<p><a href="/account">Send a new link from your account page</a>.</p>`,
      });
    }
  });

  web.post('/account/verification', async (c) => {
    const user = await currentUser(deps, c);
    if (!user) return c.redirect('/login', 303);
    const { alreadyVerified } = await sendEmailVerification(deps.recovery, user.id);
    return c.redirect(`/account?notice=${alreadyVerified ? 'already_verified' : 'verification_sent'}`, 303);
  });
}
