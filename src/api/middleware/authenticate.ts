/**
 * Resolves the caller from `Authorization: Bearer` (session JWT or API key) or
 * the session cookie, and sets `principal` and `actor`. Routes that need a
 * person (not a key) use `requireUser`.
 */
import type { Context, MiddlewareHandler } from 'hono';
import { getCookie, setCookie } from 'hono/cookie';
import { API_KEY_PREFIX, authenticateApiKey } from '../../auth/api-keys.ts';
import type { SessionService } from '../../auth/sessions.ts';
import type { Db } from '../../db/client.ts';
import { ForbiddenError, TwoFactorRequiredError, UnauthorizedError } from '../../errors.ts';
import type { AppEnv, Principal } from '../env.ts';
import type { ReadCache } from '../read-cache.ts';

export const SESSION_COOKIE = 'mailplane_session';

/** The session as an HttpOnly cookie, as sign-in and a confirmed address set it. */
export function setApiSessionCookie(c: Context, token: string, expiresAt: Date): void {
  // Always Secure: browsers accept Secure cookies from http://localhost and 127.0.0.1 (potentially trustworthy origins).
  setCookie(c, SESSION_COOKIE, token, { httpOnly: true, secure: true, sameSite: 'Strict', path: '/', expires: expiresAt });
}

export function credentialOf(c: Context<AppEnv>): string | null {
  const header = c.req.header('authorization');
  if (header) {
    const m = /^Bearer\s+(\S+)$/i.exec(header);
    if (!m) throw new UnauthorizedError('Authorization header must be "Bearer <token>"');
    return m[1]!;
  }
  return getCookie(c, SESSION_COOKIE) ?? null;
}

/**
 * The session's principal, from the read cache when this process has it: the JWT was verified
 * and the session row read when it was stored, and any write to sessions, users or second
 * factors since would have evicted it (read-cache.ts).
 */
async function sessionPrincipal(deps: { db: Db; sessions: SessionService; readCache?: ReadCache | undefined }, token: string) {
  const cached = deps.readCache?.get<Awaited<ReturnType<SessionService['authenticate']>>>('auth', `session:${token}`);
  if (cached) return cached;
  const ticket = deps.readCache?.ticket('auth') ?? 0;
  const principal = await deps.sessions.authenticate(deps.db, token);
  deps.readCache?.set('auth', `session:${token}`, principal, ticket, principal.expiresAt !== undefined ? { until: principal.expiresAt } : {});
  return principal;
}

export function authenticate(deps: { db: Db; sessions: SessionService; readCache?: ReadCache | undefined }): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const credential = credentialOf(c);
    if (!credential) throw new UnauthorizedError();
    let principal: Principal;
    if (credential.startsWith(API_KEY_PREFIX)) {
      principal = { kind: 'api_key', ...(await authenticateApiKey(deps.db, credential)) };
      c.set('actor', { id: principal.keyId, kind: 'api_key', ip: c.get('clientIp') });
    } else {
      principal = { kind: 'user', ...(await sessionPrincipal(deps, credential)) };
      c.set('actor', { id: principal.userId, kind: 'user', ip: c.get('clientIp') });
    }
    c.set('principal', principal);
    await next();
  };
}

export function requireUser(c: Context<AppEnv>): Extract<Principal, { kind: 'user' }> {
  const p = c.get('principal');
  if (p.kind !== 'user') throw new ForbiddenError('This operation needs a signed-in user, not an API key');
  return p;
}

export function requireStaff(c: Context<AppEnv>, roles: ReadonlyArray<'support' | 'ops'>): Extract<Principal, { kind: 'user' }> {
  const p = requireUser(c);
  if (!p.staffRole || !roles.includes(p.staffRole)) throw new ForbiddenError('Staff only');
  if (!p.twoFactor)
    throw new TwoFactorRequiredError('Staff accounts must use two-factor sign-in: set it up at /account/two-factor (or /v1/me/two-factor) first');
  c.set('actor', { id: p.userId, kind: 'staff', ip: c.get('clientIp') });
  return p;
}
