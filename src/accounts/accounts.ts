/** Sign-up and sign-in (the second factor's step is in two-factor/sign-in.ts). */
import { eq } from 'drizzle-orm';
import type { Actor } from '../audit.ts';
import { audit } from '../audit.ts';
import type { LoginThrottle } from '../auth/login-throttle.ts';
import { assertDisplayText } from './display-text.ts';
import { assertStrongPassword, type PasswordHasher } from '../auth/passwords.ts';
import type { SessionService } from '../auth/sessions.ts';
import type { Db } from '../db/client.ts';
import { users } from '../db/schema/index.ts';
import { UnauthorizedError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { AccountNotifier } from './notifier.ts';
import { openSignInChallenge, type SignInChallenge } from './two-factor/sign-in.ts';
import { hasSecondFactor } from './two-factor/status.ts';

export interface AccountDeps {
  db: Db;
  hasher: PasswordHasher;
  sessions: SessionService;
}

export interface LoginDeps extends AccountDeps {
  log: Logger;
  loginThrottle: LoginThrottle;
  accountNotifier: AccountNotifier;
}

export interface PublicUser {
  id: string;
  email: string;
  name: string;
  staffRole: 'support' | 'ops' | null;
  emailVerifiedAt: Date | null;
  createdAt: Date;
}

const publicColumns = {
  id: users.id,
  email: users.email,
  name: users.name,
  staffRole: users.staffRole,
  emailVerifiedAt: users.emailVerifiedAt,
  createdAt: users.createdAt,
};

export interface SignupDeps extends AccountDeps {
  log: Logger;
  accountNotifier: AccountNotifier;
  /** Mails a new account its confirmation link (carrying `next`); absent in tests of the foundation alone. */
  sendEmailVerification?: (userId: string, o?: { next?: string }) => Promise<unknown>;
}

/**
 * Creates an unconfirmed account and mails its confirmation link; for an address that already
 * has an account it changes nothing and mails its owner instead. The caller sees the same either
 * way (nothing returned, no session, the same work: the password is hashed in both cases), so
 * sign-up cannot be used to find out who is a customer. Signing in comes from the mailed link
 * (verifyEmail) or the password (logIn).
 */
export async function signUp(
  deps: SignupDeps,
  input: { email: string; password: string; name: string; next?: string },
  meta: { ip: string | null; userAgent: string | null },
): Promise<void> {
  assertDisplayText(input.name, 'json.name');
  assertStrongPassword(input.password, input);
  const passwordHash = await deps.hasher.hash(input.password);
  const created = await deps.db.transaction(async (tx) => {
    const [user] = await tx.insert(users).values({ email: input.email, name: input.name, passwordHash }).onConflictDoNothing().returning({ id: users.id });
    if (user) await audit(tx, { id: user.id, kind: 'user', ip: meta.ip }, { action: 'user.signup', target: user.id });
    return user ?? null;
  });
  if (created) {
    await deps.sendEmailVerification?.(created.id, input.next !== undefined ? { next: input.next } : {});
    return;
  }
  const [owner] = await deps.db
    .select({ id: users.id, email: users.email, erasing: users.erasureRequestedAt })
    .from(users)
    .where(eq(users.email, input.email))
    .limit(1);
  await audit(deps.db, { id: 'anonymous', kind: 'user', ip: meta.ip }, { action: 'user.signup_existing', ...(owner ? { target: owner.id } : {}) });
  // An account being erased is not mailed: its address is on its way out of our records.
  if (owner && owner.erasing === null) {
    await deps.accountNotifier
      .notify({ kind: 'signup_attempted', userId: owner.id, email: owner.email, ip: meta.ip, at: new Date() })
      .catch((err: unknown) => deps.log.error({ err }, 'account notice failed'));
  }
}

/** A session, or (for an account with a second factor) the challenge its second step must answer. */
export type LoginResult = { kind: 'session'; token: string; expiresAt: Date; userId: string } | ({ kind: 'second_factor'; userId: string } & SignInChallenge);

export async function logIn(
  deps: LoginDeps,
  input: { email: string; password: string },
  meta: { ip: string | null; userAgent: string | null },
): Promise<LoginResult> {
  // Throttled before anything is looked up: a waiting guess learns nothing, right password or not.
  const attempt = await deps.loginThrottle.begin(input.email, meta.ip);
  const [user] = await deps.db
    .select({ id: users.id, email: users.email, passwordHash: users.passwordHash })
    .from(users)
    .where(eq(users.email, input.email))
    .limit(1);
  // Same work and same answer whether or not the account exists.
  const ok = user ? await deps.hasher.verify(user.passwordHash, input.password) : await deps.hasher.verifyDummy(input.password);
  if (!user || !ok) {
    await audit(deps.db, { id: user?.id ?? 'anonymous', kind: 'user', ip: meta.ip }, { action: 'user.login_failed', details: { reason: 'bad_credentials' } });
    const failures = attempt.accountAttemptsBefore + 1;
    // Once per window: the count passes the free allowance exactly once until the window empties.
    if (user && failures === deps.loginThrottle.policy.accountFree) {
      await audit(deps.db, { id: 'system', kind: 'system', ip: meta.ip }, { action: 'user.login_throttled', target: user.id, details: { failures } });
      await deps.accountNotifier
        .notify({ kind: 'login_throttled', userId: user.id, email: user.email, failures, ip: meta.ip, at: new Date() })
        .catch((err: unknown) => deps.log.error({ err }, 'account notice failed'));
    }
    throw new UnauthorizedError('Email or password is incorrect');
  }
  if (await hasSecondFactor(deps.db, user.id)) {
    // No session yet, and the throttle's record stays until the second factor is right too.
    const challenge = await openSignInChallenge(deps, user.id, meta.ip, Date.now());
    await audit(deps.db, { id: user.id, kind: 'user', ip: meta.ip }, { action: 'user.login_password_ok', target: user.id });
    return { kind: 'second_factor', userId: user.id, ...challenge };
  }
  await attempt.succeeded();
  return deps.db.transaction(async (tx) => {
    const session = await deps.sessions.issue(tx, user.id, meta);
    await audit(tx, { id: user.id, kind: 'user', ip: meta.ip }, { action: 'user.login', target: user.id });
    return { kind: 'session', ...session, userId: user.id };
  });
}

export async function logOut(deps: AccountDeps, actor: Actor, sessionId: string): Promise<void> {
  await deps.db.transaction(async (tx) => {
    await deps.sessions.revoke(tx, sessionId);
    await audit(tx, actor, { action: 'user.logout', target: sessionId });
  });
}

export async function getUser(db: Db, userId: string): Promise<PublicUser | null> {
  const [user] = await db.select(publicColumns).from(users).where(eq(users.id, userId)).limit(1);
  return user ?? null;
}
