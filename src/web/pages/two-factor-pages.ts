/**
 * Account → Two-factor sign-in: set up an authenticator app (the secret shown
 * once, confirmed by a code), add passkeys (WebAuthn in the browser,
 * /assets/two-factor.js), see and renew recovery codes, turn it off. The same
 * services as /v1/me/two-factor. Reachable by a person whom the enrolment gate
 * sends here, so it sits behind sign-in only.
 */
import { html } from 'hono/html';
import {
  deletePasskey,
  disableTwoFactor,
  finishPasskeyEnrolment,
  finishTotpEnrolment,
  pendingTotpEnrolment,
  renewRecoveryCodes,
  startTotpEnrolment,
  twoFactorStatus,
} from '../../accounts/two-factor/manage.ts';
import { twoFactorDepsOf } from '../../api/routes/two-factor-deps.ts';
import { field, formOf, refusal } from '../forms.ts';
import { noticeOf, renderPage } from '../layout.ts';
import type { WebApp, WebContext, WebDeps } from '../web-env.ts';
import { requireSignIn } from '../web-session.ts';

const PAGE = '/account/two-factor';
const SCRIPTS = ['/assets/webauthn.js', '/assets/two-factor.js'];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function registerTwoFactorPages(web: WebApp, deps: WebDeps): void {
  const sandboxMail = deps.outbox !== null;
  const tf = twoFactorDepsOf(deps.api);
  web.use(`${PAGE}`, requireSignIn(deps));
  web.use(`${PAGE}/*`, requireSignIn(deps));

  const proofFields = (
    prefix: string,
  ) => html`<div><label for="${prefix}-password">Your password</label><input id="${prefix}-password" name="password" type="password" autocomplete="current-password" required></div>
    <div><label for="${prefix}-code">A code from your authenticator app, or a recovery code</label><input id="${prefix}-code" name="code" type="text" autocomplete="one-time-code" required></div>`;

  const statusPage = async (c: WebContext, error: string | null = null) => {
    const user = c.get('user');
    const s = await twoFactorStatus(tf, user.id);
    const why = [...(s.requirement.staff ? ['your staff role'] : []), ...s.requirement.workspaces.map((w) => `the workspace ${w}`)];
    return renderPage(c, {
      title: 'Two-factor sign-in',
      user,
      sandboxMail,
      error,
      notice: noticeOf(c),
      status: error ? 400 : 200,
      scripts: SCRIPTS,
      body: html`<section class="card" aria-labelledby="tf-h"><h2 id="tf-h">Status</h2>
        <p id="two-factor-status">${s.enabled ? html`<span class="pill ok">on</span>` : html`<span class="pill warn">off</span>`}
          ${why.length ? html` Required by ${why.join(' and ')}.` : ''}</p>
        ${s.enabled ? html`<p>Recovery codes left: <strong id="recovery-left">${s.recoveryCodesLeft}</strong>.</p>` : ''}</section>
      <section class="card" aria-labelledby="app-h"><h2 id="app-h">Authenticator app</h2>
        ${
          s.totp
            ? html`<p><span class="pill ok">set up</span> You are asked for its 6-digit code when you sign in.</p>`
            : html`<p>An app such as Aegis, Google Authenticator or 1Password shows a new 6-digit code every 30 seconds.</p>
          <form method="post" action="${PAGE}/totp"><button type="submit">Set up an authenticator app</button></form>`
        }</section>
      <section class="card" aria-labelledby="pk-h"><h2 id="pk-h">Passkeys</h2>
        ${
          s.passkeys.length
            ? html`<ul>${s.passkeys.map(
                (
                  p,
                ) => html`<li><strong>${p.name}</strong>, added ${p.createdAt.toUTCString()}${p.lastUsedAt ? html`, last used ${p.lastUsedAt.toUTCString()}` : ''}
          <details><summary>Remove ${p.name}</summary><form method="post" action="${PAGE}/passkeys/${p.id}/delete" class="stack">
            <div><label for="pw-${p.id}">Your password</label><input id="pw-${p.id}" name="password" type="password" autocomplete="current-password" required></div>
            <div><button type="submit" class="danger">Remove passkey</button></div></form></details></li>`,
              )}</ul>`
            : html`<p>No passkey yet.</p>`
        }
        <form method="post" action="${PAGE}/passkeys" class="stack" data-passkey="register">
          ${field({ name: 'name', label: 'Name for the new passkey', value: 'My passkey', hint: 'So you can tell them apart, e.g. "Laptop" or "YubiKey".' })}
          <input type="hidden" name="response" value=""><p class="error passkey-error" role="alert" hidden></p>
          <div><button type="submit">Add a passkey</button></div></form></section>
      ${
        s.enabled
          ? html`<section class="card" aria-labelledby="rc-h"><h2 id="rc-h">New recovery codes</h2>
          <form method="post" action="${PAGE}/recovery-codes" class="stack">${proofFields('rc')}<div><button type="submit" class="secondary">Make new recovery codes</button></div></form></section>
        ${
          s.requirement.required
            ? ''
            : html`<section class="card" aria-labelledby="off-h"><h2 id="off-h">Turn two-factor sign-in off</h2>
          <form method="post" action="${PAGE}/disable" class="stack" data-confirm="Turn two-factor sign-in off?">${proofFields('off')}<div><button type="submit" class="danger">Turn off</button></div></form></section>`
        }`
          : ''
      }`,
    });
  };

  const codesPage = (c: WebContext, codes: string[], title: string) =>
    renderPage(c, {
      title,
      user: c.get('user'),
      sandboxMail,
      body: html`<section class="card" aria-labelledby="codes-h"><h2 id="codes-h">Your recovery codes</h2>
      <p>Each code signs you in once if you lose your phone or passkey. Keep them somewhere safe: they are shown only now.</p>
      <pre id="recovery-codes">${codes.join('\n')}</pre>
      <p><a class="button" href="${PAGE}">I have saved them</a></p></section>`,
    });

  const totpPage = async (c: WebContext, error: string | null = null) => {
    const pending = await pendingTotpEnrolment(tf, c.get('user').id);
    if (!pending) return c.redirect(PAGE, 303);
    return renderPage(c, {
      title: 'Set up an authenticator app',
      user: c.get('user'),
      sandboxMail,
      error,
      status: error ? 400 : 200,
      body: html`<section class="card" aria-labelledby="s-h"><h2 id="s-h">1. Add this key to your app</h2>
        <p>Enter the key by hand (time-based, 6 digits, 30 seconds) or open the link on the phone that has the app.</p>
        <p class="secret" id="totp-secret">${pending.secret}</p>
        <p><a href="${pending.uri}">Open in an authenticator app</a></p></section>
        <form method="post" action="${PAGE}/totp/confirm" class="stack card"><h2>2. Enter the code it shows</h2>
          ${field({ name: 'code', label: '6-digit code', autocomplete: 'one-time-code' })}
          <div><button type="submit">Turn on two-factor sign-in</button></div></form>`,
    });
  };

  web.get(PAGE, (c) => statusPage(c));
  web.post(`${PAGE}/totp`, async (c) => {
    try {
      await startTotpEnrolment(tf, c.get('user').id);
      return c.redirect(`${PAGE}/totp`, 303);
    } catch (err) {
      return statusPage(c, refusal(err));
    }
  });
  web.get(`${PAGE}/totp`, (c) => totpPage(c));
  web.post(`${PAGE}/totp/confirm`, async (c) => {
    try {
      const { recoveryCodes } = await finishTotpEnrolment(tf, c.get('actor'), c.get('user').id, (await formOf(c))['code'] ?? '');
      return recoveryCodes ? codesPage(c, recoveryCodes, 'Two-factor sign-in is on') : c.redirect(`${PAGE}?notice=totp_enabled`, 303);
    } catch (err) {
      return totpPage(c, refusal(err));
    }
  });
  web.post(`${PAGE}/passkeys`, async (c) => {
    const form = await formOf(c);
    try {
      let response: unknown;
      try {
        response = JSON.parse(form['response'] ?? '');
      } catch {
        return statusPage(c, 'Your browser did not create a passkey: try again (it needs JavaScript and a passkey or security key).');
      }
      const name = (form['name'] ?? '').trim().slice(0, 60) || 'Passkey';
      const { recoveryCodes } = await finishPasskeyEnrolment(tf, c.get('actor'), c.get('user').id, name, response);
      return recoveryCodes ? codesPage(c, recoveryCodes, 'Passkey added') : c.redirect(`${PAGE}?notice=passkey_added`, 303);
    } catch (err) {
      return statusPage(c, refusal(err));
    }
  });
  web.post(`${PAGE}/passkeys/:passkeyId/delete`, async (c) => {
    const id = c.req.param('passkeyId');
    try {
      if (!UUID.test(id)) return c.notFound();
      await deletePasskey(tf, c.get('actor'), c.get('user').id, id, (await formOf(c))['password'] ?? '');
      return c.redirect(`${PAGE}?notice=passkey_removed`, 303);
    } catch (err) {
      return statusPage(c, refusal(err));
    }
  });
  web.post(`${PAGE}/recovery-codes`, async (c) => {
    const form = await formOf(c);
    try {
      return codesPage(
        c,
        await renewRecoveryCodes(tf, c.get('actor'), c.get('user').id, { password: form['password'] ?? '', code: form['code'] ?? '' }),
        'New recovery codes',
      );
    } catch (err) {
      return statusPage(c, refusal(err));
    }
  });
  web.post(`${PAGE}/disable`, async (c) => {
    const form = await formOf(c);
    try {
      await disableTwoFactor(tf, c.get('actor'), c.get('user').id, { password: form['password'] ?? '', code: form['code'] ?? '' });
      return c.redirect(`${PAGE}?notice=two_factor_disabled`, 303);
    } catch (err) {
      return statusPage(c, refusal(err));
    }
  });
}
