/**
 * Single-use, time-limited tokens mailed to a user (password reset, email
 * verification). Same construction as invitations: an HMAC-signed opaque
 * token (forgeries rejected without a lookup), only its SHA-256 stored, and
 * consumption is one conditional UPDATE, so two concurrent uses cannot both win.
 */
import { and, eq, gt, isNull } from 'drizzle-orm';
import { sha256Hex, signOpaqueToken, verifyOpaqueToken } from '../auth/keys.ts';
import type { DbOrTx } from '../db/client.ts';
import { accountTokens, type AccountTokenPurpose } from '../db/schema/index.ts';
import { AppError } from '../errors.ts';

const PREFIX: Record<AccountTokenPurpose, string> = { password_reset: 'mpr', email_verification: 'mpv' };

export class InvalidAccountTokenError extends AppError {
  constructor(detail: string) {
    super({ code: 'token_invalid', status: 400, title: 'Link cannot be used', detail });
  }
}

export async function issueAccountToken(
  db: DbOrTx,
  key: Buffer,
  input: { userId: string; email: string; purpose: AccountTokenPurpose; ttlSeconds: number; now: Date },
): Promise<string> {
  const token = signOpaqueToken(key, PREFIX[input.purpose]);
  // A new link replaces the older ones: only the latest mail in the inbox works.
  await db
    .update(accountTokens)
    .set({ usedAt: input.now })
    .where(and(eq(accountTokens.userId, input.userId), eq(accountTokens.purpose, input.purpose), isNull(accountTokens.usedAt)));
  await db.insert(accountTokens).values({
    userId: input.userId,
    email: input.email,
    purpose: input.purpose,
    tokenHash: sha256Hex(token),
    expiresAt: new Date(input.now.getTime() + input.ttlSeconds * 1000),
  });
  return token;
}

/** Marks the token used and returns whom it was for; throws a 400 for forged, used or expired tokens. */
export async function consumeAccountToken(
  db: DbOrTx,
  key: Buffer,
  purpose: AccountTokenPurpose,
  token: string,
  now: Date,
): Promise<{ userId: string; email: string }> {
  if (!verifyOpaqueToken(key, PREFIX[purpose], token)) throw new InvalidAccountTokenError('This link is not valid.');
  const [used] = await db
    .update(accountTokens)
    .set({ usedAt: now })
    .where(
      and(eq(accountTokens.tokenHash, sha256Hex(token)), eq(accountTokens.purpose, purpose), isNull(accountTokens.usedAt), gt(accountTokens.expiresAt, now)),
    )
    .returning({ userId: accountTokens.userId, email: accountTokens.email });
  if (!used) throw new InvalidAccountTokenError('This link was already used or has expired; ask for a new one.');
  return used;
}
