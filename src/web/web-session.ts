/**
 * Dashboard sign-in state and cross-site request protection.
 *
 * The session is the API's own HttpOnly cookie (SameSite=Strict), checked by
 * the same SessionService, so JavaScript never holds a token. State-changing
 * requests must also come from our own origin (Origin header, or
 * Sec-Fetch-Site for browsers that omit it): SameSite alone does not cover
 * same-site sibling hosts or old browsers.
 */
import type { Context, MiddlewareHandler } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { eq } from 'drizzle-orm';
import { SESSION_COOKIE } from '../api/middleware/authenticate.ts';
import { users } from '../db/schema/index.ts';
import { html } from 'hono/html';
import { AppError } from '../errors.ts';
import { renderPage } from './layout.ts';
import type { WebDeps, WebEnv, WebUser } from './web-env.ts';

export class CrossSiteRequestError extends AppError {
  constructor() {
    super({
      code: 'cross_site_request',
      status: 403,
      title: 'Request refused',
      detail: 'This form was not sent from the mailplane dashboard. Reload the page and try again.',
    });
  }
}

export function setSessionCookie(c: Context, token: string, expiresAt: Date): void {
  // Same attributes as the API's login: Secure is accepted by browsers on http://127.0.0.1 and localhost.
  setCookie(c, SESSION_COOKIE, token, { httpOnly: true, secure: true, sameSite: 'Strict', path: '/', expires: expiresAt });
}

export function clearSessionCookie(c: Context): void {
  deleteCookie(c, SESSION_COOKIE, { path: '/', secure: true });
}

/** Resolves the signed-in user if any; never redirects (public pages use it too). */
export async function currentUser(deps: WebDeps, c: Context<WebEnv>): Promise<WebUser | null> {
  const cookie = getCookie(c, SESSION_COOKIE);
  if (!cookie) return null;
  try {
    const s = await deps.api.sessions.authenticate(deps.api.db, cookie);
    const [row] = await deps.api.db.select({ name: users.name, verified: users.emailVerifiedAt }).from(users).where(eq(users.id, s.userId));
    if (!row) return null;
    const user: WebUser = {
      id: s.userId,
      email: s.email,
      name: row.name,
      staffRole: s.staffRole,
      emailVerified: row.verified !== null,
      sessionId: s.sessionId,
      twoFactor: s.twoFactor,
    };
    c.set('user', user);
    c.set('principal', { kind: 'user', userId: s.userId, sessionId: s.sessionId, email: s.email, staffRole: s.staffRole, twoFactor: s.twoFactor });
    c.set('actor', { id: s.userId, kind: 'user', ip: c.get('clientIp') });
    return user;
  } catch {
    return null;
  }
}

/**
 * Pages behind sign-in: an expired or missing session goes to /login and comes back.
 *
 * One exception: browsers do not send a SameSite=Strict cookie on a navigation
 * that starts on another site (back from Stripe's checkout, a link in a mail
 * client), so a signed-in customer looks signed out there. Such an arrival
 * gets a page that continues to the same address from our own site, which
 * carries the cookie; a visitor truly signed out then reaches /login.
 */
export function requireSignIn(deps: WebDeps): MiddlewareHandler<WebEnv> {
  return async (c, next) => {
    if (!(await currentUser(deps, c))) {
      if (c.req.method === 'GET' && c.req.header('sec-fetch-site') === 'cross-site') {
        const url = new URL(c.req.url);
        const here = `${url.pathname}${url.search}`;
        return renderPage(c, { title: 'Continuing…', body: html`<p data-refresh="0" data-href="${here}"><a href="${here}">Continue to mailplane</a></p>` });
      }
      // The query string comes along: an emailed link's token is in it.
      const url = new URL(c.req.url);
      const back = c.req.method === 'GET' ? `${url.pathname}${url.search}` : '/';
      return c.redirect(`/login?next=${encodeURIComponent(back)}`, 303);
    }
    await next();
  };
}

/** Staff pages use the staff actor kind in the audit log, like the API's requireStaff. */
export function requireStaffPage(roles: ReadonlyArray<'support' | 'ops'>): MiddlewareHandler<WebEnv> {
  return async (c, next) => {
    const user = c.get('user');
    if (!user.staffRole || !roles.includes(user.staffRole)) {
      throw new AppError({ code: 'forbidden', status: 403, title: 'Staff only', detail: 'This page is for mailplane support and operations staff.' });
    }
    c.set('actor', { id: user.id, kind: 'staff', ip: c.get('clientIp') });
    await next();
  };
}

function sameOrigin(c: Context, publicUrl: string): boolean {
  const origin = c.req.header('origin');
  // Under our Referrer-Policy (no-referrer) browsers send "Origin: null" on form posts: Sec-Fetch-Site decides then.
  if (origin && origin !== 'null') {
    const host = c.req.header('host');
    return origin === new URL(publicUrl).origin || (host !== undefined && (origin === `http://${host}` || origin === `https://${host}`));
  }
  const site = c.req.header('sec-fetch-site');
  return site === 'same-origin' || site === 'none';
}

export function sameOriginPosts(publicUrl: string): MiddlewareHandler<WebEnv> {
  return async (c, next) => {
    // The dashboard is mounted at '/', so its middleware also sees API paths no API route matched;
    // those must reach the API's problem+json 404, not an HTML refusal.
    if (c.req.path.startsWith('/v1/')) return next();
    if (c.req.method !== 'GET' && c.req.method !== 'HEAD' && !sameOrigin(c, publicUrl)) throw new CrossSiteRequestError();
    await next();
  };
}

/** Only local paths: `next=` must not turn the login page into an open redirect. */
export function safeNext(value: string | undefined): string {
  return value && /^\/(?![/\\])[\w\-./?=&%]*$/.test(value) ? value : '/';
}
