/** Sign-up and sign-in. */
import { eq } from 'drizzle-orm';
import type { Actor } from '../audit.ts';
import { audit } from '../audit.ts';
import { assertStrongPassword, type PasswordHasher } from '../auth/passwords.ts';
import type { SessionService } from '../auth/sessions.ts';
import type { Db } from '../db/client.ts';
import { users } from '../db/schema/index.ts';
import { ConflictError, UnauthorizedError } from '../errors.ts';

export interface AccountDeps {
  db: Db;
  hasher: PasswordHasher;
  sessions: SessionService;
}

export interface PublicUser {
  id: string;
  email: string;
  name: string;
  staffRole: 'support' | 'ops' | null;
  createdAt: Date;
}

const publicColumns = { id: users.id, email: users.email, name: users.name, staffRole: users.staffRole, createdAt: users.createdAt };

export async function signUp(
  deps: AccountDeps,
  input: { email: string; password: string; name: string },
  meta: { ip: string | null; userAgent: string | null },
): Promise<{ user: PublicUser; token: string; expiresAt: Date }> {
  assertStrongPassword(input.password, input);
  const passwordHash = await deps.hasher.hash(input.password);
  return deps.db.transaction(async (tx) => {
    const [user] = await tx.insert(users).values({ email: input.email, name: input.name, passwordHash }).onConflictDoNothing().returning(publicColumns);
    if (!user) throw new ConflictError('An account with this email already exists', 'email_taken');
    const session = await deps.sessions.issue(tx, user.id, meta);
    await audit(tx, { id: user.id, kind: 'user', ip: meta.ip }, { action: 'user.signup', target: user.id });
    return { user, ...session };
  });
}

export async function logIn(
  deps: AccountDeps,
  input: { email: string; password: string },
  meta: { ip: string | null; userAgent: string | null },
): Promise<{ token: string; expiresAt: Date; userId: string }> {
  const [user] = await deps.db.select({ id: users.id, passwordHash: users.passwordHash }).from(users).where(eq(users.email, input.email)).limit(1);
  // Same work and same answer whether or not the account exists.
  const ok = user ? await deps.hasher.verify(user.passwordHash, input.password) : await deps.hasher.verifyDummy(input.password);
  if (!user || !ok) {
    await audit(deps.db, { id: user?.id ?? 'anonymous', kind: 'user', ip: meta.ip }, { action: 'user.login_failed', details: { reason: 'bad_credentials' } });
    throw new UnauthorizedError('Email or password is incorrect');
  }
  return deps.db.transaction(async (tx) => {
    const session = await deps.sessions.issue(tx, user.id, meta);
    await audit(tx, { id: user.id, kind: 'user', ip: meta.ip }, { action: 'user.login', target: user.id });
    return { ...session, userId: user.id };
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
