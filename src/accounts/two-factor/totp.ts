/**
 * TOTP (RFC 6238: SHA-1, 6 digits, 30 s) through `otpauth`. The secret is
 * sealed in the vault (owner `totp_credentials/<user id>`), never stored in
 * the clear; an authenticator counts only once a first code confirms it. Each
 * accepted code moves `last_used_step` forward in one conditional UPDATE, so
 * a code (or an earlier one) replayed within its window is refused even by two
 * concurrent requests.
 */
import { and, eq, isNull, lt, or } from 'drizzle-orm';
import { Secret, TOTP } from 'otpauth';
import type { DbOrTx } from '../../db/client.ts';
import { totpCredentials } from '../../db/schema/index.ts';
import { ConflictError } from '../../errors.ts';
import type { Vault, SecretOwner } from '../../vault/vault.ts';

const PERIOD = 30;
/** One step either side: a phone clock 30 s off still works. */
const WINDOW = 1;

export const totpOwner = (userId: string): SecretOwner => ({ table: 'totp_credentials', id: userId, workspaceId: null, purpose: 'totp_secret' });

const totpOf = (secret: Secret, email: string) => new TOTP({ issuer: 'mailplane', label: email, algorithm: 'SHA1', digits: 6, period: PERIOD, secret });

export const isTotpCode = (code: string) => /^\d{6}$/.test(code.replace(/\s/g, ''));

/** Starts (or restarts) enrolment: a new secret, unconfirmed. Refused while a confirmed one is on. */
export async function beginTotpEnrolment(db: DbOrTx, vault: Vault, user: { id: string; email: string }): Promise<{ secret: string; uri: string }> {
  const [existing] = await db.select({ confirmedAt: totpCredentials.confirmedAt }).from(totpCredentials).where(eq(totpCredentials.userId, user.id));
  if (existing?.confirmedAt)
    throw new ConflictError('An authenticator app is already set up; turn two-factor sign-in off first to replace it', 'totp_already_enabled');
  const secret = new Secret({ size: 20 });
  await vault.put(db, totpOwner(user.id), secret.base32);
  await db
    .insert(totpCredentials)
    .values({ userId: user.id })
    .onConflictDoUpdate({ target: totpCredentials.userId, set: { confirmedAt: null, lastUsedStep: null, createdAt: new Date() } });
  return { secret: secret.base32, uri: totpOf(secret, user.email).toString() };
}

/**
 * Checks a code against the user's secret and consumes its time step.
 * `confirmed`: whether the authenticator must already be confirmed (sign-in)
 * or still pending (enrolment).
 */
export async function consumeTotpCode(db: DbOrTx, vault: Vault, userId: string, code: string, opts: { confirmed: boolean; now: number }): Promise<boolean> {
  const token = code.replace(/\s/g, '');
  if (!isTotpCode(token)) return false;
  const [row] = await db.select().from(totpCredentials).where(eq(totpCredentials.userId, userId));
  if (!row || (row.confirmedAt !== null) !== opts.confirmed) return false;
  const secret = Secret.fromBase32(await vault.get(db, totpOwner(userId)));
  const delta = TOTP.validate({ token, secret, algorithm: 'SHA1', digits: 6, period: PERIOD, timestamp: opts.now, window: WINDOW });
  if (delta === null) return false;
  const step = TOTP.counter({ period: PERIOD, timestamp: opts.now }) + delta;
  const used = await db
    .update(totpCredentials)
    .set({ lastUsedStep: step })
    .where(and(eq(totpCredentials.userId, userId), or(isNull(totpCredentials.lastUsedStep), lt(totpCredentials.lastUsedStep, step))))
    .returning({ userId: totpCredentials.userId });
  return used.length === 1;
}

export async function confirmTotp(db: DbOrTx, userId: string): Promise<void> {
  await db
    .update(totpCredentials)
    .set({ confirmedAt: new Date() })
    .where(and(eq(totpCredentials.userId, userId), isNull(totpCredentials.confirmedAt)));
}

/** The secret of an enrolment still waiting for its first code (shown again if the first try failed); null otherwise. */
export async function pendingTotpSecret(db: DbOrTx, vault: Vault, user: { id: string; email: string }): Promise<{ secret: string; uri: string } | null> {
  const [row] = await db.select({ confirmedAt: totpCredentials.confirmedAt }).from(totpCredentials).where(eq(totpCredentials.userId, user.id));
  if (!row || row.confirmedAt) return null;
  const secret = Secret.fromBase32(await vault.get(db, totpOwner(user.id)));
  return { secret: secret.base32, uri: totpOf(secret, user.email).toString() };
}

export async function removeTotp(db: DbOrTx, vault: Vault, userId: string): Promise<void> {
  await db.delete(totpCredentials).where(eq(totpCredentials.userId, userId));
  await vault.remove(db, totpOwner(userId));
}
