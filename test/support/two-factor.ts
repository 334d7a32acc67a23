/** Tests' side of two-factor sign-in: the code an authenticator app would show for a secret. */
import { Secret, TOTP } from 'otpauth';

/** The RFC 6238 code for `secret` (base32) at `at` (default now), as an authenticator app computes it. */
export const totpCode = (secret: string, at = Date.now()) =>
  TOTP.generate({ secret: Secret.fromBase32(secret), algorithm: 'SHA1', digits: 6, period: 30, timestamp: at });

/**
 * Enrols an authenticator for the caller through the API, as a person would;
 * returns its secret and recovery codes. Staff accounts need this before any staff route.
 */
export async function enrolTotp(
  call: (method: string, path: string, o: { token: string; body?: unknown }) => Promise<{ status: number; body: any }>,
  token: string,
) {
  const started = await call('POST', '/v1/me/two-factor/totp', { token });
  if (started.status !== 200) throw new Error(`totp enrolment: ${started.status} ${JSON.stringify(started.body)}`);
  const confirmed = await call('POST', '/v1/me/two-factor/totp/confirm', { token, body: { code: totpCode(started.body.secret) } });
  if (confirmed.status !== 200) throw new Error(`totp confirmation: ${confirmed.status} ${JSON.stringify(confirmed.body)}`);
  return { secret: started.body.secret as string, recoveryCodes: confirmed.body.recoveryCodes as string[] };
}
