/**
 * The second step of signing in: POST /v1/auth/login/second-factor (a TOTP or
 * recovery code) and /v1/auth/login/passkey (with /options first), each
 * answering the challenge that /v1/auth/login gave for an account with a
 * second factor. Same session answer and cookie as a password-only sign-in.
 */
import { createRoute, z } from '@hono/zod-openapi';
import { completeSignIn, passkeyOptionsForSignIn } from '../../accounts/two-factor/sign-in.ts';
import type { ApiDeps } from '../deps.ts';
import type { App } from '../env.ts';
import { jsonBody, jsonResponse, problems } from '../openapi.ts';
import { sessionBody } from './auth.ts';
import { SessionResponse } from './schemas.ts';
import { twoFactorDepsOf, WebAuthnJson } from './two-factor-deps.ts';

const Challenge = z.string().min(20).max(200);
const tag = ['auth'];
const routes = {
  code: createRoute({
    method: 'post',
    path: '/v1/auth/login/second-factor',
    tags: tag,
    summary: 'Finish signing in with an authenticator or recovery code',
    request: {
      body: jsonBody(
        z.strictObject({
          challenge: Challenge,
          code: z.string().trim().min(6).max(40).openapi({ description: '6 digits from the authenticator app, or a recovery code (each works once)' }),
        }),
      ),
    },
    responses: { 200: jsonResponse(SessionResponse, 'Signed in'), ...problems(401) },
  }),
  passkeyOptions: createRoute({
    method: 'post',
    path: '/v1/auth/login/passkey/options',
    tags: tag,
    summary: 'WebAuthn options for finishing sign-in with a passkey',
    request: { body: jsonBody(z.strictObject({ challenge: Challenge })) },
    responses: { 200: jsonResponse(WebAuthnJson, 'PublicKeyCredentialRequestOptionsJSON for navigator.credentials.get'), ...problems(401) },
  }),
  passkey: createRoute({
    method: 'post',
    path: '/v1/auth/login/passkey',
    tags: tag,
    summary: 'Finish signing in with a passkey',
    request: { body: jsonBody(z.strictObject({ challenge: Challenge, response: WebAuthnJson })) },
    responses: { 200: jsonResponse(SessionResponse, 'Signed in'), ...problems(401) },
  }),
};

export function registerTwoFactorSignInRoutes(app: App, deps: ApiDeps): void {
  const tf = twoFactorDepsOf(deps);
  const meta = (c: { get(k: 'clientIp'): string | null; req: { header(n: string): string | undefined } }) => ({
    ip: c.get('clientIp'),
    userAgent: c.req.header('user-agent') ?? null,
  });

  app.openapi(routes.code, async (c) => {
    const { challenge, code } = c.req.valid('json');
    return c.json(await sessionBody(c, deps, await completeSignIn(tf, challenge, { code }, meta(c))), 200);
  });
  app.openapi(routes.passkeyOptions, async (c) => c.json(await passkeyOptionsForSignIn(tf, c.req.valid('json').challenge), 200));
  app.openapi(routes.passkey, async (c) => {
    const { challenge, response } = c.req.valid('json');
    return c.json(await sessionBody(c, deps, await completeSignIn(tf, challenge, { passkey: response }, meta(c))), 200);
  });
}
