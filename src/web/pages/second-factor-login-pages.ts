/**
 * The sign-in page's second step: after a right password on an account with a
 * second factor, the page asks for an authenticator code or a recovery code
 * (a plain form) or a passkey (the same form's sibling, whose answer the
 * browser's WebAuthn ceremony fills in; /assets/two-factor.js). The challenge
 * rides in a hidden field, never in the URL.
 */
import { html } from 'hono/html';
import { completeSignIn, type SecondFactorMethod } from '../../accounts/two-factor/sign-in.ts';
import { twoFactorDepsOf } from '../../api/routes/two-factor-deps.ts';
import { AppError } from '../../errors.ts';
import { formOf, hitLimit, refusal } from '../forms.ts';
import { renderPage } from '../layout.ts';
import type { WebApp, WebContext, WebDeps } from '../web-env.ts';
import { safeNext, setSessionCookie } from '../web-session.ts';

const METHODS: SecondFactorMethod[] = ['totp', 'passkey', 'recovery_code'];

export function secondFactorPage(
  c: WebContext,
  deps: WebDeps,
  o: { challenge: string; methods: SecondFactorMethod[]; next: string; error?: string | null; status?: 200 | 400 | 401 | 429 },
) {
  const next = encodeURIComponent(safeNext(o.next));
  return renderPage(c, {
    title: 'Two-factor sign-in',
    sandboxMail: deps.outbox !== null,
    error: o.error ?? null,
    status: o.status === 401 ? 400 : (o.status ?? 200),
    scripts: o.methods.includes('passkey') ? ['/assets/webauthn.js', '/assets/two-factor.js'] : [],
    body: html`${
      o.methods.includes('passkey')
        ? html`<form method="post" action="/login/passkey?next=${next}" class="stack card" data-passkey="sign-in">
        <input type="hidden" name="challenge" value="${o.challenge}"><input type="hidden" name="methods" value="${o.methods.join(',')}"><input type="hidden" name="response" value="">
        <p>Use the passkey on this device or your security key.</p>
        <p class="error passkey-error" role="alert" hidden></p>
        <div><button type="submit">Sign in with a passkey</button></div></form>`
        : ''
    }
      <form method="post" action="/login/second-factor?next=${next}" class="stack card">
        <input type="hidden" name="challenge" value="${o.challenge}"><input type="hidden" name="methods" value="${o.methods.join(',')}">
        <div><label for="f-code">${o.methods.includes('totp') ? 'Code from your authenticator app, or a recovery code' : 'A recovery code'}</label>
          <input id="f-code" name="code" type="text" inputmode="${o.methods.includes('totp') ? 'numeric' : 'text'}" autocomplete="one-time-code" required></div>
        <div><button type="submit">Verify</button></div></form>`,
  });
}

export function registerSecondFactorLoginPages(web: WebApp, deps: WebDeps): void {
  const tf = twoFactorDepsOf(deps.api);
  const meta = (c: WebContext) => ({ ip: c.get('clientIp'), userAgent: c.req.header('user-agent') ?? null });

  const answer = (kind: 'code' | 'passkey') => async (c: WebContext) => {
    const form = await formOf(c);
    const challenge = form['challenge'] ?? '';
    const next = safeNext(c.req.query('next'));
    try {
      hitLimit(deps.api.limiters.auth, c);
      let response: unknown = null;
      if (kind === 'passkey') {
        try {
          response = JSON.parse(form['response'] ?? '');
        } catch {
          response = null;
        }
      }
      const session = await completeSignIn(tf, challenge, kind === 'code' ? { code: form['code'] ?? '' } : { passkey: response }, meta(c));
      setSessionCookie(c, session.token, session.expiresAt);
      return c.redirect(next, 303);
    } catch (err) {
      if (err instanceof AppError && err.status === 429 && err.retryAfterMs !== undefined)
        c.header('retry-after', String(Math.max(1, Math.ceil(err.retryAfterMs / 1000))));
      // An expired or finished challenge cannot be answered again: back to the password.
      if (err instanceof AppError && err.status === 401 && /expired|already/.test(err.detail ?? ''))
        return c.redirect(`/login?next=${encodeURIComponent(next)}`, 303);
      const methods = (form['methods'] ?? '').split(',').filter((m): m is SecondFactorMethod => METHODS.includes(m as SecondFactorMethod));
      return secondFactorPage(c, deps, { challenge, methods, next, error: refusal(err), status: err instanceof AppError && err.status === 429 ? 429 : 400 });
    }
  };
  web.post('/login/second-factor', answer('code'));
  web.post('/login/passkey', answer('passkey'));
}
