/**
 * Forgot password and email verification: both mail a single-use link to the
 * account's address. Asking for a reset answers the same whether or not the
 * address has an account, so the form cannot be used to probe for customers.
 */
import { and, eq, isNull } from 'drizzle-orm';
import { audit } from '../audit.ts';
import { assertStrongPassword, type PasswordHasher } from '../auth/passwords.ts';
import type { SessionService } from '../auth/sessions.ts';
import type { Db } from '../db/client.ts';
import { users } from '../db/schema/index.ts';
import type { Logger } from '../log.ts';
import { sendBestEffort, type Mailer } from '../mail/mailer.ts';
import { emailVerificationMessage, passwordResetMessage } from '../mail/messages.ts';
import { consumeAccountToken, InvalidAccountTokenError, issueAccountToken } from './account-tokens.ts';
import { hasSecondFactor } from './two-factor/status.ts';
import type { Clock } from '../clock.ts';

export const RESET_TTL_SECONDS = 30 * 60;
export const VERIFY_TTL_SECONDS = 3 * 24 * 3600;

export interface RecoveryDeps {
  db: Db;
  hasher: PasswordHasher;
  sessions: SessionService;
  mailer: Mailer;
  log: Logger;
  /** HKDF-derived 'account-token' key. */
  tokenKey: Buffer;
  /** Where the links in the mail point (the dashboard). */
  publicUrl: string;
  /** When a mailed link is issued and whether it has expired. */
  clock: Clock;
}

const nowOf = (deps: RecoveryDeps) => new Date(deps.clock.now());

export async function requestPasswordReset(deps: RecoveryDeps, email: string, ip: string | null): Promise<void> {
  const [user] = await deps.db
    .select({ id: users.id, email: users.email })
    .from(users)
    .where(and(eq(users.email, email), isNull(users.erasureRequestedAt)))
    .limit(1);
  if (!user) {
    await audit(deps.db, { id: 'anonymous', kind: 'user', ip }, { action: 'user.password_reset_requested', details: { known: false } });
    return;
  }
  const token = await deps.db.transaction(async (tx) => {
    const t = await issueAccountToken(tx, deps.tokenKey, {
      userId: user.id,
      email: user.email,
      purpose: 'password_reset',
      ttlSeconds: RESET_TTL_SECONDS,
      now: nowOf(deps),
    });
    await audit(tx, { id: user.id, kind: 'user', ip }, { action: 'user.password_reset_requested', target: user.id });
    return t;
  });
  const link = `${deps.publicUrl}/reset-password?token=${encodeURIComponent(token)}`;
  await sendBestEffort(deps.mailer, deps.log, passwordResetMessage(user.email, link, RESET_TTL_SECONDS / 60));
}

/** Sets the new password and signs every session out (whoever knew the old password is out too). */
export async function resetPassword(deps: RecoveryDeps, token: string, password: string, ip: string | null): Promise<{ userId: string; email: string }> {
  const now = nowOf(deps);
  // Hash outside the transaction (argon2 takes tens of ms); the token is only consumed if the password is acceptable.
  const result = await deps.db.transaction(async (tx) => {
    const who = await consumeAccountToken(tx, deps.tokenKey, 'password_reset', token, now);
    const [user] = await tx.select({ name: users.name, email: users.email }).from(users).where(eq(users.id, who.userId));
    if (!user || user.email !== who.email) throw new InvalidAccountTokenError('This link was sent to an address the account no longer uses.');
    assertStrongPassword(password, { email: user.email, name: user.name });
    return { ...who, name: user.name };
  });
  const passwordHash = await deps.hasher.hash(password);
  await deps.db.transaction(async (tx) => {
    // Clicking the emailed link also proves the address is theirs.
    const [row] = await tx.select({ verified: users.emailVerifiedAt }).from(users).where(eq(users.id, result.userId));
    await tx
      .update(users)
      .set({ passwordHash, ...(row?.verified ? {} : { emailVerifiedAt: now }) })
      .where(eq(users.id, result.userId));
    await deps.sessions.revokeAllForUser(tx, result.userId);
    await audit(tx, { id: result.userId, kind: 'user', ip }, { action: 'user.password_reset', target: result.userId });
  });
  return { userId: result.userId, email: result.email };
}

/**
 * `next` (where the dashboard's sign-up was headed) rides along in the link; the page that
 * receives it checks it again (a link can be edited), this only keeps it to a path.
 */
export async function sendEmailVerification(deps: RecoveryDeps, userId: string, o: { next?: string } = {}): Promise<{ alreadyVerified: boolean }> {
  const [user] = await deps.db.select({ email: users.email, verified: users.emailVerifiedAt }).from(users).where(eq(users.id, userId));
  if (!user) throw new InvalidAccountTokenError('No such account.');
  if (user.verified) return { alreadyVerified: true };
  const token = await issueAccountToken(deps.db, deps.tokenKey, {
    userId,
    email: user.email,
    purpose: 'email_verification',
    ttlSeconds: VERIFY_TTL_SECONDS,
    now: nowOf(deps),
  });
  const next = o.next && /^\/(?![/\\])/.test(o.next) && o.next !== '/' ? `&next=${encodeURIComponent(o.next)}` : '';
  await sendBestEffort(deps.mailer, deps.log, emailVerificationMessage(user.email, `${deps.publicUrl}/verify-email?token=${encodeURIComponent(token)}${next}`));
  return { alreadyVerified: false };
}

/**
 * Opening the mailed link proves the address, and signs its owner in: the link is
 * single-use, short-lived and went only to that address, as a password reset's does.
 * Not for an account with a second factor: the link proves the mailbox, not the factor,
 * so it confirms the address and the owner signs in as usual (session null).
 */
export async function verifyEmail(
  deps: RecoveryDeps,
  token: string,
  meta: { ip: string | null; userAgent: string | null },
): Promise<{ userId: string; email: string; session: { token: string; expiresAt: Date } | null }> {
  const now = nowOf(deps);
  return deps.db.transaction(async (tx) => {
    const who = await consumeAccountToken(tx, deps.tokenKey, 'email_verification', token, now);
    const [updated] = await tx
      .update(users)
      .set({ emailVerifiedAt: now })
      .where(and(eq(users.id, who.userId), eq(users.email, who.email)))
      .returning({ id: users.id });
    if (!updated) throw new InvalidAccountTokenError('This link was sent to an address the account no longer uses.');
    await audit(tx, { id: who.userId, kind: 'user', ip: meta.ip }, { action: 'user.email_verified', target: who.userId });
    if (await hasSecondFactor(tx, who.userId)) return { ...who, session: null };
    const session = await deps.sessions.issue(tx, who.userId, meta);
    await audit(tx, { id: who.userId, kind: 'user', ip: meta.ip }, { action: 'user.login', target: who.userId, details: { via: 'email_verification' } });
    return { ...who, session };
  });
}
