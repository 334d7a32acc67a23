/**
 * Throttling of password guessing, per account and per client IP, with a
 * sliding window and growing delays. State lives in PostgreSQL
 * (`login_attempts`) so every API process enforces one limit, and an
 * attempt is recorded *before* its password is checked, under an advisory
 * lock per key, so a burst of concurrent guesses is counted guess by guess.
 *
 * Within `windowMs`, the first `free` attempts of a key pass at once; each
 * further attempt must come `baseDelayMs × 2^(n − free)` (at most `maxDelayMs`)
 * after the previous one, otherwise it is answered 429 without its password
 * being looked at. A right password removes the account's record (its owner
 * is back in), but not the IP's: one valid account must not reset an
 * attacker's count against the others.
 */
import { createHmac } from 'node:crypto';
import { and, eq, inArray, lt, sql } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { loginAttempts } from '../db/schema/index.ts';
import { RateLimitedError } from '../errors.ts';

export interface LoginThrottlePolicy {
  windowMs: number;
  accountFree: number;
  ipFree: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_LOGIN_THROTTLE: LoginThrottlePolicy = {
  windowMs: 15 * 60_000,
  accountFree: 5,
  // Higher: many people can share one address (an office, a carrier NAT).
  ipFree: 20,
  baseDelayMs: 1_000,
  maxDelayMs: 15 * 60_000,
};

export interface LoginAttempt {
  /** Attempts on this account in the window before this one (right or wrong). */
  accountAttemptsBefore: number;
  /** The password was right: clears the account's record. */
  succeeded(): Promise<void>;
}

export interface LoginThrottle {
  readonly policy: LoginThrottlePolicy;
  /** Records an attempt, or throws RateLimitedError when this account or IP must wait. */
  begin(email: string, ip: string | null): Promise<LoginAttempt>;
}

export function createLoginThrottle(opts: { db: Db; key: Buffer; now?: () => number; policy?: Partial<LoginThrottlePolicy> }): LoginThrottle {
  const policy = { ...DEFAULT_LOGIN_THROTTLE, ...opts.policy };
  const now = opts.now ?? Date.now;
  // Keyed, so the table holds no email addresses (including ones with no account).
  const accountKey = (email: string) => `account:${createHmac('sha256', opts.key).update(email.toLowerCase()).digest('hex')}`;
  const wait = (count: number, last: number, free: number, at: number) => {
    if (count < free) return 0;
    const gap = Math.min(policy.baseDelayMs * 2 ** (count - free), policy.maxDelayMs);
    return Math.max(0, last + gap - at);
  };

  return {
    policy,
    async begin(email, ip) {
      const account = accountKey(email);
      const keys = ip ? [account, `ip:${ip}`] : [account];
      const at = now();
      const since = new Date(at - policy.windowMs);
      const inserted = await opts.db.transaction(async (tx) => {
        // Account before IP, always: one lock order, no deadlock between two sign-ins.
        for (const key of keys) await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${key}, 0))`);
        await tx.delete(loginAttempts).where(and(inArray(loginAttempts.key, keys), lt(loginAttempts.at, since)));
        const rows = await tx
          .select({ key: loginAttempts.key, n: sql<number>`count(*)::int`, last: sql<Date>`max(${loginAttempts.at})` })
          .from(loginAttempts)
          .where(inArray(loginAttempts.key, keys))
          .groupBy(loginAttempts.key);
        const stats = new Map(rows.map((r) => [r.key, { n: r.n, last: new Date(r.last).getTime() }]));
        const forAccount = stats.get(account) ?? { n: 0, last: 0 };
        const forIp = ip ? (stats.get(`ip:${ip}`) ?? { n: 0, last: 0 }) : { n: 0, last: 0 };
        const waitMs = Math.max(wait(forAccount.n, forAccount.last, policy.accountFree, at), wait(forIp.n, forIp.last, policy.ipFree, at));
        if (waitMs > 0) throw new RateLimitedError(waitMs, `Too many sign-in attempts; retry in ${Math.ceil(waitMs / 1000)} s`);
        const ids = await tx
          .insert(loginAttempts)
          .values(keys.map((key) => ({ key, at: new Date(at) })))
          .returning({ id: loginAttempts.id, key: loginAttempts.key });
        return { ids, accountAttemptsBefore: forAccount.n };
      });
      return {
        accountAttemptsBefore: inserted.accountAttemptsBefore,
        succeeded: async () => {
          const ipRow = inserted.ids.find((r) => r.key !== account);
          await opts.db.delete(loginAttempts).where(eq(loginAttempts.key, account));
          if (ipRow) await opts.db.delete(loginAttempts).where(eq(loginAttempts.id, ipRow.id));
        },
      };
    },
  };
}
