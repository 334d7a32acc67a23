/**
 * A person's own second factors: /v1/me/two-factor. People only (an API key
 * has no second factor). Enrolment answers secrets and recovery codes once;
 * taking protection away asks for the password and a current code.
 */
import { createRoute, z } from '@hono/zod-openapi';
import {
  deletePasskey,
  disableTwoFactor,
  finishPasskeyEnrolment,
  finishTotpEnrolment,
  renewRecoveryCodes,
  startPasskeyRegistration,
  startTotpEnrolment,
  twoFactorStatus,
} from '../../accounts/two-factor/manage.ts';
import { MAX_PASSWORD_LENGTH } from '../../auth/passwords.ts';
import type { ApiDeps } from '../deps.ts';
import type { App } from '../env.ts';
import { requireUser } from '../middleware/authenticate.ts';
import { bearer, jsonBody, jsonResponse, pathId, problems } from '../openapi.ts';
import { iso } from './schemas.ts';
import { twoFactorDepsOf, WebAuthnJson } from './two-factor-deps.ts';

const PasskeySchema = z.object({ id: z.string(), name: z.string(), createdAt: z.string(), lastUsedAt: z.string().nullable() }).openapi('Passkey');
const StatusSchema = z
  .object({
    enabled: z.boolean(),
    totp: z.boolean(),
    passkeys: z.array(PasskeySchema),
    recoveryCodesLeft: z.number().int(),
    required: z.boolean().openapi({ description: 'Staff, or a member of a workspace that requires two-factor sign-in' }),
    requiredBy: z.array(z.string()),
  })
  .openapi('TwoFactorStatus');
const RecoveryCodes = z.array(z.string()).nullable().openapi({ description: 'Shown once: with the first second factor of an account, or when renewed' });
const Proof = z.strictObject({
  password: z.string().max(MAX_PASSWORD_LENGTH),
  code: z.string().trim().min(6).max(40).openapi({ description: 'A current authenticator code or an unused recovery code' }),
});
const PasskeyParam = z.object({ passkeyId: pathId('passkeyId') });

const tag = ['account'];
const route = <M extends 'get' | 'post' | 'delete'>(method: M, path: string, summary: string) => ({
  method,
  path: `/v1/me/two-factor${path}`,
  tags: tag,
  summary,
  security: bearer,
});
const routes = {
  status: createRoute({
    ...route('get', '', 'Your second factors and whether you must have one'),
    responses: { 200: jsonResponse(StatusSchema, 'Status'), ...problems(401, 403) },
  }),
  totp: createRoute({
    ...route('post', '/totp', 'Start setting up an authenticator app (a new secret, confirmed by its first code)'),
    responses: {
      200: jsonResponse(z.object({ secret: z.string(), uri: z.string() }), 'The base32 secret and its otpauth:// URI, shown once'),
      ...problems(401, 403, 409),
    },
  }),
  totpConfirm: createRoute({
    ...route('post', '/totp/confirm', 'Confirm the authenticator app with a code it shows'),
    request: { body: jsonBody(z.strictObject({ code: z.string().trim().min(6).max(10) })) },
    responses: { 200: jsonResponse(z.object({ recoveryCodes: RecoveryCodes }), 'Two-factor sign-in is on'), ...problems(401, 403) },
  }),
  passkeyOptions: createRoute({
    ...route('post', '/passkeys/options', 'WebAuthn options for registering a passkey'),
    responses: { 200: jsonResponse(WebAuthnJson, 'PublicKeyCredentialCreationOptionsJSON for navigator.credentials.create'), ...problems(401, 403) },
  }),
  passkeyAdd: createRoute({
    ...route('post', '/passkeys', 'Register a passkey'),
    request: { body: jsonBody(z.strictObject({ name: z.string().trim().min(1).max(60), response: WebAuthnJson })) },
    responses: { 201: jsonResponse(z.object({ passkey: PasskeySchema, recoveryCodes: RecoveryCodes }), 'Registered'), ...problems(401, 403) },
  }),
  passkeyDelete: createRoute({
    ...route('delete', '/passkeys/{passkeyId}', 'Remove a passkey (needs your password)'),
    request: { params: PasskeyParam, body: jsonBody(z.strictObject({ password: z.string().max(MAX_PASSWORD_LENGTH) })) },
    responses: { 204: { description: 'Removed' }, ...problems(401, 403, 404, 409) },
  }),
  disable: createRoute({
    ...route('post', '/disable', 'Turn two-factor sign-in off (needs your password and a current code)'),
    request: { body: jsonBody(Proof) },
    responses: { 204: { description: 'Off: the authenticator, passkeys and recovery codes are removed' }, ...problems(401, 403, 409) },
  }),
  recoveryCodes: createRoute({
    ...route('post', '/recovery-codes', 'Replace your recovery codes (needs your password and a current code)'),
    request: { body: jsonBody(Proof) },
    responses: { 200: jsonResponse(z.object({ recoveryCodes: z.array(z.string()) }), 'New codes, shown once'), ...problems(401, 403, 409) },
  }),
};

export function registerTwoFactorRoutes(app: App, deps: ApiDeps): void {
  const tf = twoFactorDepsOf(deps);
  const passkey = (p: { id: string; name: string; createdAt: Date; lastUsedAt: Date | null }) => ({
    id: p.id,
    name: p.name,
    createdAt: p.createdAt.toISOString(),
    lastUsedAt: iso(p.lastUsedAt),
  });

  app.openapi(routes.status, async (c) => {
    const s = await twoFactorStatus(tf, requireUser(c).userId);
    return c.json(
      {
        enabled: s.enabled,
        totp: s.totp,
        passkeys: s.passkeys.map(passkey),
        recoveryCodesLeft: s.recoveryCodesLeft,
        required: s.requirement.required,
        requiredBy: [...(s.requirement.staff ? ['staff'] : []), ...s.requirement.workspaces],
      },
      200,
    );
  });
  app.openapi(routes.totp, async (c) => c.json(await startTotpEnrolment(tf, requireUser(c).userId), 200));
  app.openapi(routes.totpConfirm, async (c) => c.json(await finishTotpEnrolment(tf, c.get('actor'), requireUser(c).userId, c.req.valid('json').code), 200));
  app.openapi(routes.passkeyOptions, async (c) => c.json(await startPasskeyRegistration(tf, requireUser(c).userId), 200));
  app.openapi(routes.passkeyAdd, async (c) => {
    const { name, response } = c.req.valid('json');
    const added = await finishPasskeyEnrolment(tf, c.get('actor'), requireUser(c).userId, name, response);
    return c.json({ passkey: passkey({ ...added.passkey, lastUsedAt: null }), recoveryCodes: added.recoveryCodes }, 201);
  });
  app.openapi(routes.passkeyDelete, async (c) => {
    await deletePasskey(tf, c.get('actor'), requireUser(c).userId, c.req.valid('param').passkeyId, c.req.valid('json').password);
    return c.body(null, 204);
  });
  app.openapi(routes.disable, async (c) => {
    await disableTwoFactor(tf, c.get('actor'), requireUser(c).userId, c.req.valid('json'));
    return c.body(null, 204);
  });
  app.openapi(routes.recoveryCodes, async (c) =>
    c.json({ recoveryCodes: await renewRecoveryCodes(tf, c.get('actor'), requireUser(c).userId, c.req.valid('json')) }, 200),
  );
}
