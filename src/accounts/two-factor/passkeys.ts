/**
 * Passkeys (WebAuthn) through @simplewebauthn/server. Every ceremony's
 * challenge is kept server-side (auth_challenges), used once, and checked with
 * the dashboard's origin and RP ID, so a response made for another site or
 * replayed from an earlier ceremony is refused. Attestation is not asked for
 * ('none'): we trust the key the person registers, not its make.
 */
import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticationResponseJSON,
  type RegistrationResponseJSON,
} from '@simplewebauthn/server';
import { and, eq, gt, isNull } from 'drizzle-orm';
import type { DbOrTx } from '../../db/client.ts';
import { authChallenges, passkeys } from '../../db/schema/index.ts';
import { ValidationError } from '../../errors.ts';
import type { RelyingParty } from './deps.ts';

const CEREMONY_MS = 5 * 60_000;

export async function passkeysOf(db: DbOrTx, userId: string) {
  return db.select().from(passkeys).where(eq(passkeys.userId, userId)).orderBy(passkeys.createdAt);
}

export async function beginPasskeyRegistration(db: DbOrTx, rp: RelyingParty, user: { id: string; email: string; name: string }, now: number) {
  const existing = await passkeysOf(db, user.id);
  const options = await generateRegistrationOptions({
    rpName: rp.name,
    rpID: rp.id,
    userName: user.email,
    userDisplayName: user.name || user.email,
    userID: new TextEncoder().encode(user.id),
    attestationType: 'none',
    excludeCredentials: existing.map((p) => ({ id: p.credentialId, transports: p.transports })),
    authenticatorSelection: { residentKey: 'preferred', userVerification: 'preferred' },
  });
  await db.delete(authChallenges).where(and(eq(authChallenges.userId, user.id), eq(authChallenges.purpose, 'passkey_registration')));
  await db
    .insert(authChallenges)
    .values({ userId: user.id, purpose: 'passkey_registration', webauthnChallenge: options.challenge, expiresAt: new Date(now + CEREMONY_MS) });
  return options;
}

/** Verifies the browser's answer to the pending registration and stores the key. */
export async function finishPasskeyRegistration(db: DbOrTx, rp: RelyingParty, userId: string, name: string, response: unknown, now: number) {
  const [pending] = await db
    .update(authChallenges)
    .set({ usedAt: new Date(now) })
    .where(
      and(
        eq(authChallenges.userId, userId),
        eq(authChallenges.purpose, 'passkey_registration'),
        isNull(authChallenges.usedAt),
        gt(authChallenges.expiresAt, new Date(now)),
      ),
    )
    .returning({ challenge: authChallenges.webauthnChallenge });
  if (!pending?.challenge) throw new ValidationError('No passkey registration is under way (or it took longer than 5 minutes); start again');
  let verification;
  try {
    verification = await verifyRegistrationResponse({
      response: response as RegistrationResponseJSON,
      expectedChallenge: pending.challenge,
      expectedOrigin: rp.origin,
      expectedRPID: rp.id,
      requireUserVerification: false,
    });
  } catch (err) {
    throw new ValidationError(`The passkey could not be verified: ${(err as Error).message}`);
  }
  if (!verification.verified) throw new ValidationError('The passkey could not be verified');
  const { credential } = verification.registrationInfo;
  const [row] = await db
    .insert(passkeys)
    .values({
      userId,
      name,
      credentialId: credential.id,
      publicKey: Buffer.from(credential.publicKey).toString('base64url'),
      counter: credential.counter,
      transports: credential.transports ?? [],
    })
    .onConflictDoNothing()
    .returning({ id: passkeys.id, name: passkeys.name, createdAt: passkeys.createdAt });
  if (!row) throw new ValidationError('This passkey is already registered');
  return row;
}

/** Options for signing in with one of the user's passkeys; the challenge is bound to the pending sign-in. */
export async function passkeySignInOptions(db: DbOrTx, rp: RelyingParty, signInId: string, userId: string) {
  const keys = await passkeysOf(db, userId);
  if (keys.length === 0) throw new ValidationError('This account has no passkey');
  const options = await generateAuthenticationOptions({
    rpID: rp.id,
    userVerification: 'preferred',
    allowCredentials: keys.map((k) => ({ id: k.credentialId, transports: k.transports })),
  });
  await db.update(authChallenges).set({ webauthnChallenge: options.challenge }).where(eq(authChallenges.id, signInId));
  return options;
}

/** Checks a signed assertion against the stored key and its counter; true when it signs this user in. */
export async function verifyPasskeyAssertion(
  db: DbOrTx,
  rp: RelyingParty,
  userId: string,
  expectedChallenge: string | null,
  response: unknown,
  now: number,
): Promise<boolean> {
  const assertion = response as AuthenticationResponseJSON;
  if (!expectedChallenge || typeof assertion?.id !== 'string') return false;
  const [key] = await db
    .select()
    .from(passkeys)
    .where(and(eq(passkeys.userId, userId), eq(passkeys.credentialId, assertion.id)));
  if (!key) return false;
  try {
    const { verified, authenticationInfo } = await verifyAuthenticationResponse({
      response: assertion,
      expectedChallenge,
      expectedOrigin: rp.origin,
      expectedRPID: rp.id,
      requireUserVerification: false,
      credential: {
        id: key.credentialId,
        publicKey: new Uint8Array(Buffer.from(key.publicKey, 'base64url')),
        counter: key.counter,
        transports: key.transports,
      },
    });
    if (!verified) return false;
    await db
      .update(passkeys)
      .set({ counter: authenticationInfo.newCounter, lastUsedAt: new Date(now) })
      .where(eq(passkeys.id, key.id));
    return true;
  } catch {
    return false;
  }
}

export async function removePasskey(db: DbOrTx, userId: string, passkeyId: string): Promise<boolean> {
  const gone = await db
    .delete(passkeys)
    .where(and(eq(passkeys.userId, userId), eq(passkeys.id, passkeyId)))
    .returning({ id: passkeys.id });
  return gone.length === 1;
}
