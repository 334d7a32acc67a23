/** POST /v1/auth/signup, /login, /logout */
import { createRoute, z } from '@hono/zod-openapi';
import { setCookie, deleteCookie } from 'hono/cookie';
import { getUser, logIn, logOut, signUp } from '../../accounts/accounts.ts';
import { UnauthorizedError } from '../../errors.ts';
import { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH } from '../../auth/passwords.ts';
import type { ApiDeps } from '../deps.ts';
import type { App } from '../env.ts';
import { authenticate, requireUser, SESSION_COOKIE } from '../middleware/authenticate.ts';
import { bearer, Email, jsonBody, jsonResponse, problems } from '../openapi.ts';
import { presentUser, UserSchema } from './schemas.ts';

const SignupBody = z.strictObject({
  email: Email,
  password: z.string().min(MIN_PASSWORD_LENGTH).max(MAX_PASSWORD_LENGTH)
    .openapi({ description: `At least ${MIN_PASSWORD_LENGTH} characters, not a common password, not containing your email or name` }),
  name: z.string().trim().min(1).max(120),
}).openapi('SignupRequest');

const LoginBody = z.strictObject({ email: Email, password: z.string().max(MAX_PASSWORD_LENGTH) }).openapi('LoginRequest');

// Sign-up and sign-in answer the same: who is signed in, and the session.
export const SessionResponse = z.object({ user: UserSchema, token: z.string(), expiresAt: z.string() }).openapi('SessionResponse');
// An account with a second factor: no session yet, but the challenge its second step answers.
const SecondFactorResponse = z.object({
  secondFactorRequired: z.literal(true),
  challenge: z.string().openapi({ description: 'Answer it within 5 minutes at /v1/auth/login/second-factor or /v1/auth/login/passkey' }),
  expiresAt: z.string(),
  methods: z.array(z.enum(['totp', 'passkey', 'recovery_code'])),
}).openapi('SecondFactorChallenge');

const signup = createRoute({
  method: 'post', path: '/v1/auth/signup', tags: ['auth'], summary: 'Create an account',
  request: { body: jsonBody(SignupBody) },
  responses: { 201: jsonResponse(SessionResponse, 'Account created and signed in'), ...problems(409) },
});
const login = createRoute({
  method: 'post', path: '/v1/auth/login', tags: ['auth'], summary: 'Sign in',
  request: { body: jsonBody(LoginBody) },
  responses: { 200: jsonResponse(z.union([SessionResponse, SecondFactorResponse]), 'Signed in (the token is also set as an HttpOnly cookie), or a second factor is due'), ...problems(401) },
});
const logout = createRoute({
  method: 'post', path: '/v1/auth/logout', tags: ['auth'], summary: 'Sign out (revokes the session)', security: bearer,
  responses: { 204: { description: 'Signed out' }, ...problems(401) },
});

/** Sets the session cookie and answers who is signed in: after a password, or after a second factor. */
export async function sessionBody(c: Parameters<typeof setCookie>[0], deps: ApiDeps, s: { token: string; expiresAt: Date; userId: string }) {
  setCookie(c, SESSION_COOKIE, s.token, { httpOnly: true, secure: true, sameSite: 'Strict', path: '/', expires: s.expiresAt });
  const user = await getUser(deps.db, s.userId);
  if (!user) throw new UnauthorizedError('Email or password is incorrect');
  return { user: presentUser(user), token: s.token, expiresAt: s.expiresAt.toISOString() };
}

export function registerAuthRoutes(app: App, deps: ApiDeps): void {
  const meta = (c: { get(k: 'clientIp'): string | null; req: { header(n: string): string | undefined } }) => ({ ip: c.get('clientIp'), userAgent: c.req.header('user-agent') ?? null });
  // Always Secure: browsers accept Secure cookies from http://localhost and 127.0.0.1 (potentially trustworthy origins).
  const cookie = (c: Parameters<typeof setCookie>[0], token: string, expiresAt: Date) =>
    setCookie(c, SESSION_COOKIE, token, { httpOnly: true, secure: true, sameSite: 'Strict', path: '/', expires: expiresAt });

  app.openapi(signup, async (c) => {
    const body = c.req.valid('json');
    const { user, token, expiresAt } = await signUp(deps, body, meta(c));
    // As the dashboard's sign-up does: the account exists, so the link is sent (best effort).
    await deps.sendEmailVerification?.(user.id);
    cookie(c, token, expiresAt);
    return c.json({ user: presentUser(user), token, expiresAt: expiresAt.toISOString() }, 201);
  });

  app.openapi(login, async (c) => {
    const result = await logIn(deps, c.req.valid('json'), meta(c));
    if (result.kind === 'second_factor') {
      return c.json({ secondFactorRequired: true as const, challenge: result.challenge, expiresAt: result.expiresAt.toISOString(), methods: result.methods }, 200);
    }
    return c.json(await sessionBody(c, deps, result), 200);
  });

  app.use('/v1/auth/logout', authenticate(deps));
  app.openapi(logout, async (c) => {
    const user = requireUser(c);
    await logOut(deps, c.get('actor'), user.sessionId);
    deleteCookie(c, SESSION_COOKIE, { path: '/' });
    return c.body(null, 204);
  });
}
