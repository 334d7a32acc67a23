/**
 * A person's own second factors: set up an authenticator app or a passkey,
 * remove a passkey, renew recovery codes, turn two-factor sign-in off. Every
 * change is audited and mailed to the account. Taking protection away (turning
 * it off, renewing codes) needs the password and a current code, under the
 * login throttle, so a stolen session alone cannot strip it; and nobody who
 * must have a second factor (staff, members of a workspace that requires it)
 * can end up without one.
 */
import { eq } from 'drizzle-orm';
import { audit, type Actor } from '../../audit.ts';
import { users } from '../../db/schema/index.ts';
import { ConflictError, NotFoundError, UnauthorizedError, ValidationError } from '../../errors.ts';
import type { TwoFactorDeps } from './deps.ts';
import { notifyTwoFactorChange } from './notices.ts';
import { beginPasskeyRegistration, finishPasskeyRegistration, passkeysOf, removePasskey } from './passkeys.ts';
import { consumeRecoveryCode, issueRecoveryCodes, recoveryCodesLeft, removeRecoveryCodes } from './recovery-codes.ts';
import { confirmedTotpExists, hasSecondFactor, twoFactorRequirement } from './status.ts';
import { beginTotpEnrolment, confirmTotp, consumeTotpCode, isTotpCode, pendingTotpSecret, removeTotp } from './totp.ts';
import type { TwoFactorChange } from '../notifier.ts';

async function person(deps: TwoFactorDeps, userId: string) {
  const [user] = await deps.db
    .select({ id: users.id, email: users.email, name: users.name, passwordHash: users.passwordHash })
    .from(users)
    .where(eq(users.id, userId));
  if (!user) throw new NotFoundError('User');
  return user;
}

const nowOf = (deps: TwoFactorDeps) => deps.clock.now();

async function changed(deps: TwoFactorDeps, actor: Actor, user: { id: string; email: string }, change: TwoFactorChange, details: Record<string, unknown> = {}) {
  await audit(deps.db, actor, { action: `user.two_factor.${change}`, target: user.id, details });
  await notifyTwoFactorChange(deps, { userId: user.id, email: user.email, change, ip: actor.ip });
}

export async function twoFactorStatus(deps: TwoFactorDeps, userId: string) {
  const [keys, totp, codes, requirement] = await Promise.all([
    passkeysOf(deps.db, userId),
    confirmedTotpExists(deps.db, userId),
    recoveryCodesLeft(deps.db, userId),
    twoFactorRequirement(deps.db, userId),
  ]);
  return {
    enabled: totp || keys.length > 0,
    totp,
    recoveryCodesLeft: codes,
    requirement,
    passkeys: keys.map((k) => ({ id: k.id, name: k.name, createdAt: k.createdAt, lastUsedAt: k.lastUsedAt })),
  };
}

export async function startTotpEnrolment(deps: TwoFactorDeps, userId: string) {
  return beginTotpEnrolment(deps.db, deps.vault, await person(deps, userId), nowOf(deps));
}

/** The first code confirms the authenticator; the first factor of an account also brings its recovery codes. */
export async function finishTotpEnrolment(deps: TwoFactorDeps, actor: Actor, userId: string, code: string): Promise<{ recoveryCodes: string[] | null }> {
  const user = await person(deps, userId);
  if (!(await consumeTotpCode(deps.db, deps.vault, userId, code, { confirmed: false, now: nowOf(deps) }))) {
    throw new ValidationError('That code is not right: check the time on your phone and enter the code it shows now');
  }
  const firstFactor = !(await hasSecondFactor(deps.db, userId));
  await confirmTotp(deps.db, userId, nowOf(deps));
  const recoveryCodes = firstFactor ? await issueRecoveryCodes(deps.db, userId) : null;
  await changed(deps, actor, user, 'totp_enabled');
  return { recoveryCodes };
}

export async function pendingTotpEnrolment(deps: TwoFactorDeps, userId: string) {
  return pendingTotpSecret(deps.db, deps.vault, await person(deps, userId));
}

export async function startPasskeyRegistration(deps: TwoFactorDeps, userId: string) {
  return beginPasskeyRegistration(deps.db, deps.relyingParty, await person(deps, userId), nowOf(deps));
}

export async function finishPasskeyEnrolment(deps: TwoFactorDeps, actor: Actor, userId: string, name: string, response: unknown) {
  const user = await person(deps, userId);
  const firstFactor = !(await hasSecondFactor(deps.db, userId));
  const passkey = await finishPasskeyRegistration(deps.db, deps.relyingParty, userId, name, response, nowOf(deps));
  const recoveryCodes = firstFactor ? await issueRecoveryCodes(deps.db, userId) : null;
  await changed(deps, actor, user, 'passkey_added', { passkeyId: passkey.id });
  return { passkey, recoveryCodes };
}

/**
 * The password and a current code (authenticator or recovery code), counted
 * by the login throttle like a sign-in, since both are guessable secrets.
 */
async function proveIt(
  deps: TwoFactorDeps,
  user: { id: string; email: string; passwordHash: string },
  proof: { password: string; code: string },
  ip: string | null,
) {
  const attempt = await deps.loginThrottle.begin(user.email, ip);
  const passwordOk = await deps.hasher.verify(user.passwordHash, proof.password);
  const codeOk =
    passwordOk &&
    (isTotpCode(proof.code)
      ? await consumeTotpCode(deps.db, deps.vault, user.id, proof.code, { confirmed: true, now: nowOf(deps) })
      : await consumeRecoveryCode(deps.db, user.id, proof.code, nowOf(deps)));
  if (!codeOk) throw new UnauthorizedError(passwordOk ? 'That code is not right' : 'Your password is not right');
  await attempt.succeeded();
}

async function mustKeepOne(deps: TwoFactorDeps, userId: string) {
  const requirement = await twoFactorRequirement(deps.db, userId);
  if (requirement.required) {
    throw new ConflictError(
      requirement.staff
        ? 'Staff accounts must keep two-factor sign-in on'
        : `Two-factor sign-in is required by ${requirement.workspaces.join(', ')}; it cannot be turned off while you belong there`,
      'two_factor_required',
    );
  }
}

export async function disableTwoFactor(deps: TwoFactorDeps, actor: Actor, userId: string, proof: { password: string; code: string }) {
  const user = await person(deps, userId);
  if (!(await hasSecondFactor(deps.db, userId))) throw new ConflictError('Two-factor sign-in is not on', 'two_factor_off');
  await mustKeepOne(deps, userId);
  await proveIt(deps, user, proof, actor.ip);
  await deps.db.transaction(async (tx) => {
    await removeTotp(tx, deps.vault, userId);
    for (const key of await passkeysOf(tx, userId)) await removePasskey(tx, userId, key.id);
    await removeRecoveryCodes(tx, userId);
  });
  await changed(deps, actor, user, 'disabled');
}

export async function renewRecoveryCodes(deps: TwoFactorDeps, actor: Actor, userId: string, proof: { password: string; code: string }): Promise<string[]> {
  const user = await person(deps, userId);
  if (!(await hasSecondFactor(deps.db, userId))) throw new ConflictError('Set up two-factor sign-in first', 'two_factor_off');
  await proveIt(deps, user, proof, actor.ip);
  const codes = await issueRecoveryCodes(deps.db, userId);
  await changed(deps, actor, user, 'recovery_codes_renewed');
  return codes;
}

/** Removing one passkey needs the password; removing the last second factor is turning it off (above). */
export async function deletePasskey(deps: TwoFactorDeps, actor: Actor, userId: string, passkeyId: string, password: string) {
  const user = await person(deps, userId);
  const keys = await passkeysOf(deps.db, userId);
  if (!keys.some((k) => k.id === passkeyId)) throw new NotFoundError('Passkey');
  if (keys.length === 1 && !(await confirmedTotpExists(deps.db, userId))) {
    throw new ConflictError('This is your only second factor: turn two-factor sign-in off instead (it asks for a code)', 'last_second_factor');
  }
  const attempt = await deps.loginThrottle.begin(user.email, actor.ip);
  if (!(await deps.hasher.verify(user.passwordHash, password))) throw new UnauthorizedError('Your password is not right');
  await attempt.succeeded();
  await removePasskey(deps.db, userId, passkeyId);
  await changed(deps, actor, user, 'passkey_removed', { passkeyId });
}
