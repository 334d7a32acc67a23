/**
 * Actions that reach outside the account wait until its address is confirmed: paying for a
 * server (its "ready" and "action needed" mail go to that address, and a card is tied to a
 * person who can be reached) and inviting people (an unconfirmed account could otherwise
 * send mail to strangers in the product's name). The refusal says what to do.
 */
import { eq } from 'drizzle-orm';
import type { DbOrTx } from '../db/client.ts';
import { users } from '../db/schema/index.ts';
import { AppError, NotFoundError } from '../errors.ts';

export class EmailUnverifiedError extends AppError {
  constructor(email: string, doing: string) {
    super({
      code: 'email_unverified',
      status: 403,
      title: 'Email address not confirmed',
      detail:
        `Confirm your email address (${email}) before ${doing}: open the link we mailed you, or ask for a new one ` +
        '(POST /v1/me/email/verification, or "Send the link again" in the dashboard).',
    });
  }
}

export async function assertEmailVerified(db: DbOrTx, userId: string, doing: string): Promise<{ email: string }> {
  const [user] = await db.select({ email: users.email, verifiedAt: users.emailVerifiedAt }).from(users).where(eq(users.id, userId));
  if (!user) throw new NotFoundError('User');
  if (user.verifiedAt === null) throw new EmailUnverifiedError(user.email, doing);
  return { email: user.email };
}
