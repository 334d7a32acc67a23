/** The two-factor services' deps from the API's, and the shape of WebAuthn JSON in requests and answers. */
import { z } from '@hono/zod-openapi';
import { relyingPartyOf, type TwoFactorDeps } from '../../accounts/two-factor/deps.ts';
import type { ApiDeps } from '../deps.ts';

export const twoFactorDepsOf = (deps: ApiDeps): TwoFactorDeps => ({
  ...deps,
  relyingParty: relyingPartyOf(deps.config.http.publicUrl),
});

/** WebAuthn's JSON forms (options and credentials) are checked by @simplewebauthn, field by field. */
export const WebAuthnJson = z
  .record(z.string(), z.unknown())
  .openapi('WebAuthnJson', { description: 'A WebAuthn JSON object (W3C WebAuthn Level 3, toJSON() forms)' });
