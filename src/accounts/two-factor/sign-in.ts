/**
 * The second step of signing in. A right password on an account with a second
 * factor yields a sign-in challenge (an opaque token, 5 minutes, hash stored)
 * instead of a session; the session comes only with a TOTP code, a recovery
 * code or a passkey assertion for that challenge. Every second-factor attempt
 * goes through the same login throttle as passwords, on the same account
 * key, so knowing the password buys no more guesses at the code; the account's
 * throttle record is cleared only when the second factor is right.
 */
import { createHash, randomBytes } from 'node:crypto';
import { and, eq, gt, isNotNull, isNull, lt, or } from 'drizzle-orm';
import { audit } from '../../audit.ts';
import { authChallenges, users } from '../../db/schema/index.ts';
import { UnauthorizedError, ValidationError } from '../../errors.ts';
import type { TwoFactorDeps } from './deps.ts';
import { notifyTwoFactorChange } from './notices.ts';
import { passkeySignInOptions, passkeysOf, verifyPasskeyAssertion } from './passkeys.ts';
import { consumeRecoveryCode, looksLikeRecoveryCode } from './recovery-codes.ts';
import { confirmedTotpExists } from './status.ts';
import { consumeTotpCode, isTotpCode } from './totp.ts';

const CHALLENGE_MS = 5 * 60_000;
const hashOf = (token: string) => createHash('sha256').update(token).digest('hex');

export type SecondFactorMethod = 'totp' | 'passkey' | 'recovery_code';

export interface SignInChallenge {
  challenge: string;
  expiresAt: Date;
  methods: SecondFactorMethod[];
}

/** Called once the password was right: what the client must answer next. */
export async function openSignInChallenge(deps: Pick<TwoFactorDeps, 'db'>, userId: string, ip: string | null, now: number): Promise<SignInChallenge> {
  const token = randomBytes(32).toString('base64url');
  const expiresAt = new Date(now + CHALLENGE_MS);
  // Housekeeping: this user's spent and expired sign-ins go (an open one from another tab stays usable).
  await deps.db
    .delete(authChallenges)
    .where(
      and(
        eq(authChallenges.userId, userId),
        eq(authChallenges.purpose, 'sign_in'),
        or(lt(authChallenges.expiresAt, new Date(now)), isNotNull(authChallenges.usedAt)),
      ),
    );
  await deps.db.insert(authChallenges).values({ userId, purpose: 'sign_in', tokenHash: hashOf(token), ip, expiresAt });
  const methods: SecondFactorMethod[] = [];
  if (await confirmedTotpExists(deps.db, userId)) methods.push('totp');
  if ((await passkeysOf(deps.db, userId)).length > 0) methods.push('passkey');
  methods.push('recovery_code');
  return { challenge: token, expiresAt, methods };
}

async function pendingSignIn(deps: TwoFactorDeps, challenge: string, now: number) {
  const [row] = await deps.db
    .select({ id: authChallenges.id, userId: authChallenges.userId, webauthnChallenge: authChallenges.webauthnChallenge, email: users.email })
    .from(authChallenges)
    .innerJoin(users, eq(users.id, authChallenges.userId))
    .where(
      and(
        eq(authChallenges.tokenHash, hashOf(challenge)),
        eq(authChallenges.purpose, 'sign_in'),
        isNull(authChallenges.usedAt),
        gt(authChallenges.expiresAt, new Date(now)),
        isNull(users.erasureRequestedAt),
      ),
    )
    .limit(1);
  if (!row) throw new UnauthorizedError('This sign-in has expired or was already completed; enter your password again');
  return row;
}

/** WebAuthn options for answering a sign-in challenge with a passkey. */
export async function passkeyOptionsForSignIn(deps: TwoFactorDeps, challenge: string) {
  const now = deps.clock.now();
  const pending = await pendingSignIn(deps, challenge, now);
  return passkeySignInOptions(deps.db, deps.relyingParty, pending.id, pending.userId);
}

export type SecondFactorAnswer = { code: string } | { passkey: unknown };

/** Checks the answer under the login throttle; a right one closes the challenge and opens a session. */
export async function completeSignIn(
  deps: TwoFactorDeps,
  challenge: string,
  answer: SecondFactorAnswer,
  meta: { ip: string | null; userAgent: string | null },
): Promise<{ token: string; expiresAt: Date; userId: string; method: SecondFactorMethod }> {
  const now = deps.clock.now();
  const pending = await pendingSignIn(deps, challenge, now);
  const attempt = await deps.loginThrottle.begin(pending.email, meta.ip);
  let method: SecondFactorMethod | null = null;
  if ('passkey' in answer) {
    if (await verifyPasskeyAssertion(deps.db, deps.relyingParty, pending.userId, pending.webauthnChallenge, answer.passkey, now)) method = 'passkey';
  } else if (isTotpCode(answer.code)) {
    if (await consumeTotpCode(deps.db, deps.vault, pending.userId, answer.code, { confirmed: true, now })) method = 'totp';
  } else if (looksLikeRecoveryCode(answer.code)) {
    if (await consumeRecoveryCode(deps.db, pending.userId, answer.code, now)) method = 'recovery_code';
  } else {
    throw new ValidationError('Enter the 6-digit code from your authenticator app or one of your recovery codes');
  }
  const actor = { id: pending.userId, kind: 'user' as const, ip: meta.ip };
  if (!method) {
    await audit(deps.db, actor, {
      action: 'user.login_failed',
      target: pending.userId,
      details: { reason: 'bad_second_factor', method: 'passkey' in answer ? 'passkey' : 'code' },
    });
    throw new UnauthorizedError('That code or passkey is not right');
  }
  const closed = await deps.db
    .update(authChallenges)
    .set({ usedAt: new Date(now) })
    .where(and(eq(authChallenges.id, pending.id), isNull(authChallenges.usedAt)))
    .returning({ id: authChallenges.id });
  if (closed.length === 0) throw new UnauthorizedError('This sign-in was already completed');
  await attempt.succeeded();
  const session = await deps.db.transaction(async (tx) => {
    const issued = await deps.sessions.issue(tx, pending.userId, meta);
    await audit(tx, actor, { action: 'user.login', target: pending.userId, details: { secondFactor: method } });
    return issued;
  });
  // A spent recovery code is news to the owner: if it was not them, their password and a code are known.
  if (method === 'recovery_code')
    await notifyTwoFactorChange(deps, { userId: pending.userId, email: pending.email, change: 'recovery_code_used', ip: meta.ip });
  return { ...session, userId: pending.userId, method };
}
