/**
 * POST /v1/auth/password/forgot, /v1/auth/password/reset, /v1/auth/email/verify
 * and POST /v1/me/email/verification: the emailed single-use links.
 * /v1/auth/* is rate-limited per IP by app.ts; /v1/me/* needs a session.
 */
import { createRoute, z } from '@hono/zod-openapi';
import { requestPasswordReset, resetPassword, sendEmailVerification, verifyEmail, type RecoveryDeps } from '../../accounts/recovery.ts';
import { InvalidAccountTokenError } from '../../accounts/account-tokens.ts';
import { getUser } from '../../accounts/accounts.ts';
import { MAX_PASSWORD_LENGTH } from '../../auth/passwords.ts';
import type { App } from '../env.ts';
import { requireUser, setApiSessionCookie } from '../middleware/authenticate.ts';
import { bearer, Email, jsonBody, jsonResponse, problems } from '../openapi.ts';
import { presentUser, SessionResponse } from './schemas.ts';

const Token = z.string().min(10).max(200);
const tag = ['auth'];

const VerifiedSignInRequired = z.object({ verified: z.literal(true), signInRequired: z.literal(true) }).openapi('EmailVerifiedSignInRequired');

const routes = {
  forgot: createRoute({
    method: 'post',
    path: '/v1/auth/password/forgot',
    tags: tag,
    summary: 'Email a single-use password reset link',
    description:
      'Answers 202 whether or not the address has an account, so the endpoint cannot be used to find customers. The link is valid for 30 minutes; asking again invalidates the previous one.',
    request: { body: jsonBody(z.strictObject({ email: Email }).openapi('ForgotPasswordRequest')) },
    responses: { 202: { description: 'If the address has an account, a link is on its way' }, ...problems() },
  }),
  reset: createRoute({
    method: 'post',
    path: '/v1/auth/password/reset',
    tags: tag,
    summary: 'Set a new password with the emailed token',
    description: 'Consumes the token (a second use answers 400) and signs out every session of the account.',
    request: { body: jsonBody(z.strictObject({ token: Token, password: z.string().max(MAX_PASSWORD_LENGTH) }).openapi('ResetPasswordRequest')) },
    responses: { 204: { description: 'Password changed; sign in again' }, ...problems() },
  }),
  verify: createRoute({
    method: 'post',
    path: '/v1/auth/email/verify',
    tags: tag,
    summary: 'Confirm an email address with the emailed token',
    description:
      'Consumes the token (a second use answers 400), confirms the address and signs its owner in: the answer is the session, as POST /v1/auth/login gives it, and the token is also set as an HttpOnly cookie. ' +
      'An account with a second factor is not signed in by the link: the answer is `{ verified: true, signInRequired: true }` and its owner signs in with POST /v1/auth/login.',
    request: { body: jsonBody(z.strictObject({ token: Token }).openapi('VerifyEmailRequest')) },
    responses: {
      200: jsonResponse(z.union([SessionResponse, VerifiedSignInRequired]), 'Address confirmed, and signed in unless the account has a second factor'),
      ...problems(),
    },
  }),
  resend: createRoute({
    method: 'post',
    path: '/v1/me/email/verification',
    tags: tag,
    summary: 'Email a new verification link to the signed-in user',
    security: bearer,
    responses: { 202: jsonResponse(z.object({ alreadyVerified: z.boolean() }), 'Sent (or nothing to do)'), ...problems(401, 403) },
  }),
};

export function registerAccountRecoveryRoutes(app: App, deps: RecoveryDeps): void {
  app.openapi(routes.forgot, async (c) => {
    await requestPasswordReset(deps, c.req.valid('json').email, c.get('clientIp'));
    return c.body(null, 202);
  });

  app.openapi(routes.reset, async (c) => {
    const { token, password } = c.req.valid('json');
    await resetPassword(deps, token, password, c.get('clientIp'));
    return c.body(null, 204);
  });

  app.openapi(routes.verify, async (c) => {
    const { userId, session } = await verifyEmail(deps, c.req.valid('json').token, { ip: c.get('clientIp'), userAgent: c.req.header('user-agent') ?? null });
    if (!session) return c.json({ verified: true as const, signInRequired: true as const }, 200);
    const user = await getUser(deps.db, userId);
    if (!user) throw new InvalidAccountTokenError('No such account.');
    setApiSessionCookie(c, session.token, session.expiresAt);
    return c.json({ user: presentUser(user), token: session.token, expiresAt: session.expiresAt.toISOString() }, 200);
  });

  app.openapi(routes.resend, async (c) => {
    const user = requireUser(c);
    return c.json(await sendEmailVerification(deps, user.userId), 202);
  });
}
