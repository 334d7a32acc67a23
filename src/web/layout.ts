/**
 * The page shell: landmarks (header, nav, main), a skip link, the notice
 * area, one stylesheet and one deferred script. Every interpolation goes
 * through hono/html, which escapes it; `raw` is used only for markup we build.
 */
import type { Context } from 'hono';
import { html } from 'hono/html';
import type { HtmlEscapedString } from 'hono/utils/html';
import type { WebEnv, WebUser } from './web-env.ts';

export type Html = HtmlEscapedString | Promise<HtmlEscapedString>;

export interface PageOptions {
  title: string;
  body: Html;
  user?: WebUser | null;
  /** The workspace the page belongs to, for the navigation. */
  workspace?: { id: string; name: string; role: string | null } | null;
  notice?: string | null;
  error?: string | null;
  sandboxMail?: boolean;
  /** Extra scripts of this package (/assets/…), e.g. the passkey ceremony. */
  scripts?: string[];
  status?: 200 | 400 | 403 | 404 | 409 | 429 | 500;
}

function nav(o: PageOptions): Html {
  const u = o.user;
  if (!u) {
    return html`<nav aria-label="Main"><ul><li><a href="/login">Sign in</a></li><li><a href="/signup">Create an account</a></li>${o.sandboxMail ? html`<li><a href="/sandbox/mail">Sandbox mailbox</a></li>` : ''}</ul></nav>`;
  }
  const ws = o.workspace;
  return html`<nav aria-label="Main"><ul>
    <li><a href="/workspaces">Workspaces</a></li>
    ${ws ? html`<li><a href="/w/${ws.id}">Servers</a></li><li><a href="/w/${ws.id}/team">Team</a></li>${ws.role === 'owner' || ws.role === 'admin' ? html`<li><a href="/w/${ws.id}/billing">Billing</a></li><li><a href="/w/${ws.id}/api-keys">API keys</a></li>` : ''}` : ''}
    ${u.staffRole ? html`<li><a href="/support/servers">Support</a></li>` : ''}
    ${u.staffRole === 'ops' ? html`<li><a href="/ops/alerts">Ops</a></li>` : ''}
    ${o.sandboxMail ? html`<li><a href="/sandbox/mail">Sandbox mailbox</a></li>` : ''}
    <li><a href="/account">Account</a></li>
    <li><form method="post" action="/logout" class="inline"><button type="submit" class="link">Sign out</button></form></li>
  </ul></nav>`;
}

export function renderPage(c: Context<WebEnv>, o: PageOptions): Response | Promise<Response> {
  const verifyBanner =
    o.user && !o.user.emailVerified
      ? html`<div class="banner" role="note">Please confirm your email address (${o.user.email}).
        <form method="post" action="/account/verification" class="inline"><button type="submit" class="link">Send the link again</button></form></div>`
      : '';
  c.header('cache-control', 'no-store');
  return c.html(
    html`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${o.title} · mailplane</title>
<link rel="icon" href="/assets/icon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/assets/app.css">
<script src="/assets/app.js" defer></script>
${(o.scripts ?? []).map((src) => html`<script src="${src}" defer></script>`)}
</head><body>
<a class="skip" href="#main">Skip to content</a>
<header class="top"><a class="brand" href="/">mailplane</a>${o.workspace ? html`<span class="ws">${o.workspace.name}</span>` : ''}${nav(o)}</header>
${verifyBanner}
<main id="main">
<h1>${o.title}</h1>
${o.notice ? html`<p class="notice" role="status">${o.notice}</p>` : ''}
${o.error ? html`<p class="error" role="alert">${o.error}</p>` : ''}
${o.body}
</main>
<footer><a href="/docs">API reference</a></footer>
</body></html>`,
    o.status ?? 200,
  );
}

/** Notices after a redirect are codes, never free text from the URL (no injected messages). */
export const NOTICES: Record<string, string> = {
  signed_out: 'You are signed out.',
  session_signed_out: 'That session is signed out.',
  other_sessions_signed_out: 'Every other session is signed out.',
  reset_sent: 'If an account uses that address, a link to reset the password is on its way. It works once, for 30 minutes.',
  password_changed: 'Your password is changed and every session is signed out. Sign in with the new password.',
  verified: 'Thank you: your email address is confirmed.',
  verification_sent: 'A new confirmation link is on its way.',
  already_verified: 'Your email address is already confirmed.',
  renamed: 'Workspace renamed.',
  invited: 'Invitation sent by email.',
  invitation_revoked: 'Invitation revoked.',
  member_changed: 'Member updated.',
  member_removed: 'Member removed.',
  key_revoked: 'API key revoked.',
  mailbox_deleted: 'The mailbox is being removed from the server.',
  junk_score_saved: 'The junk score is saved; the server applies it with the next mailbox sync, in a moment.',
  junk_score_invalid: 'The junk score must be a number from 1 to 14 (one decimal at most).',
  junk_score_refused: 'The junk score can be changed once the server is ready.',
  addresses_saved: 'Saved: the server gets the change within a minute.',
  checkout_cancelled: 'Checkout cancelled: nothing was charged.',
  server_cancelled: 'The server is cancelled: it runs until the end of the period you paid for. Every owner was mailed; you can undo it below until then.',
  cancel_undone: 'Cancellation undone: the subscription renews and the server stays as it is.',
  cancel_not_undone: 'The cancellation could not be undone: the subscription has already ended, or was not cancelled.',
  plan_change_requested:
    'Plan change sent to Stripe: the new plan applies as soon as Stripe confirms it, usually within seconds. If it runs on another server size, your server is rebuilt onto it.',
  rerun: 'Step queued again.',
  resumed: 'Run resumed: its failed steps are queued again.',
  acknowledged: 'Alert acknowledged.',
  resolved: 'Alert resolved.',
  rotation_started: 'IP rotation started.',
  dkim_rotation: 'DKIM rotation started: the new keys sign once public resolvers answer them.',
  tls_rollover: "TLS key rollover started: both keys' TLSA records are published before the key switches.",
  rechecking: 'Checking now: this page shows the result in a moment.',
  nothing_waiting: 'Nothing is waiting any more: there was nothing to check.',
  joined: 'You joined the workspace.',
  totp_enabled: 'Two-factor sign-in is on: you will be asked for a code from your authenticator app when you sign in.',
  passkey_added: 'Passkey added: you can sign in with it from now on.',
  passkey_removed: 'Passkey removed.',
  two_factor_disabled: 'Two-factor sign-in is off.',
  two_factor_required: 'Set up two-factor sign-in to continue: your account needs it.',
  security_saved: 'Sign-in policy saved.',
  workspace_erasing: 'The workspace is being erased: its servers are deprovisioned and its subscriptions cancelled.',
  erasure_scheduled: 'The workspace is scheduled for erasure; every owner was mailed. You can still keep it: see below.',
  erasure_cancelled: 'Erasure cancelled: the workspace stays as it is.',
};

export const noticeOf = (c: Context): string | null => NOTICES[c.req.query('notice') ?? ''] ?? null;
