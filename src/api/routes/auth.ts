/** POST /v1/auth/signup, /login, /logout */
import { createRoute, z } from '@hono/zod-openapi';
import { deleteCookie } from 'hono/cookie';
import { getUser, logIn, logOut, signUp } from '../../accounts/accounts.ts';
import { UnauthorizedError } from '../../errors.ts';
import { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH } from '../../auth/passwords.ts';
import type { ApiDeps } from '../deps.ts';
import type { App } from '../env.ts';
import { authenticate, requireUser, SESSION_COOKIE, setApiSessionCookie } from '../middleware/authenticate.ts';
import { bearer, Email, jsonBody, jsonResponse, problems } from '../openapi.ts';
import { presentUser, SessionResponse } from './schemas.ts';

const SignupBody = z
  .strictObject({
    email: Email,
    password: z
      .string()
      .min(MIN_PASSWORD_LENGTH)
      .max(MAX_PASSWORD_LENGTH)
      .openapi({ description: `At least ${MIN_PASSWORD_LENGTH} characters, not a common password, not containing your email or name` }),
    name: z.string().trim().min(1).max(120),
  })
  .openapi('SignupRequest');

const LoginBody = z.strictObject({ email: Email, password: z.string().max(MAX_PASSWORD_LENGTH) }).openapi('LoginRequest');

// An account with a second factor: no session yet, but the challenge its second step answers.
const SecondFactorResponse = z
  .object({
    secondFactorRequired: z.literal(true),
    challenge: z.string().openapi({ description: 'Answer it within 5 minutes at /v1/auth/login/second-factor or /v1/auth/login/passkey' }),
    expiresAt: z.string(),
    methods: z.array(z.enum(['totp', 'passkey', 'recovery_code'])),
  })
  .openapi('SecondFactorChallenge');
const SignupAccepted = z.object({ status: z.literal('verification_sent') }).openapi('SignupAccepted');

const signup = createRoute({
  method: 'post',
  path: '/v1/auth/signup',
  tags: ['auth'],
  summary: 'Create an account',
  description:
    'Answers 202 whether or not the address already has an account, so sign-up cannot be used to find customers. ' +
    'A new address gets an unconfirmed account and a mail with a confirmation link (POST /v1/auth/email/verify with its token signs in); ' +
    'an address that has an account gets a mail telling its owner, and nothing changes. No session is issued here: sign in with ' +
    'POST /v1/auth/login (allowed before the address is confirmed) or through the mailed link.',
  request: { body: jsonBody(SignupBody) },
  responses: { 202: jsonResponse(SignupAccepted, 'A mail is on its way to the address'), ...problems() },
});
const login = createRoute({
  method: 'post',
  path: '/v1/auth/login',
  tags: ['auth'],
  summary: 'Sign in',
  request: { body: jsonBody(LoginBody) },
  responses: {
    200: jsonResponse(z.union([SessionResponse, SecondFactorResponse]), 'Signed in (the token is also set as an HttpOnly cookie), or a second factor is due'),
    ...problems(401),
  },
});
const logout = createRoute({
  method: 'post',
  path: '/v1/auth/logout',
  tags: ['auth'],
  summary: 'Sign out (revokes the session)',
  security: bearer,
  responses: { 204: { description: 'Signed out' }, ...problems(401) },
});

/** Sets the session cookie and answers who is signed in: after a password, or after a second factor. */
export async function sessionBody(c: Parameters<typeof setApiSessionCookie>[0], deps: ApiDeps, s: { token: string; expiresAt: Date; userId: string }) {
  setApiSessionCookie(c, s.token, s.expiresAt);
  const user = await getUser(deps.db, s.userId);
  if (!user) throw new UnauthorizedError('Email or password is incorrect');
  return { user: presentUser(user), token: s.token, expiresAt: s.expiresAt.toISOString() };
}

export function registerAuthRoutes(app: App, deps: ApiDeps): void {
  const meta = (c: { get(k: 'clientIp'): string | null; req: { header(n: string): string | undefined } }) => ({
    ip: c.get('clientIp'),
    userAgent: c.req.header('user-agent') ?? null,
  });

  app.openapi(signup, async (c) => {
    await signUp(deps, c.req.valid('json'), meta(c));
    return c.json({ status: 'verification_sent' as const }, 202);
  });

  app.openapi(login, async (c) => {
    const result = await logIn(deps, c.req.valid('json'), meta(c));
    if (result.kind === 'second_factor') {
      return c.json(
        { secondFactorRequired: true as const, challenge: result.challenge, expiresAt: result.expiresAt.toISOString(), methods: result.methods },
        200,
      );
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
