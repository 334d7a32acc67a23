/**
 * Sessions: short-lived HS256 JWTs (jose) whose `sid` names a row in
 * `sessions`, so logout and revocation take effect at once. The JWT alone is
 * never trusted: every request checks the row is live.
 */
import { and, eq, gt, isNull } from 'drizzle-orm';
import { SignJWT, jwtVerify, errors as joseErrors } from 'jose';
import type { DbOrTx } from '../db/client.ts';
import { sessions, users } from '../db/schema/index.ts';
import { UnauthorizedError } from '../errors.ts';
import { hasSecondFactorSql } from '../accounts/two-factor/status.ts';

export interface SessionPrincipal {
  userId: string;
  sessionId: string;
  email: string;
  staffRole: 'support' | 'ops' | null;
  /** Whether the person has a second factor (staff and some workspaces require one). */
  twoFactor: boolean;
  /** When the session ends (ms since the epoch): a cached principal is never served past it. */
  expiresAt?: number;
}

export interface SessionService {
  issue(db: DbOrTx, userId: string, meta: { ip: string | null; userAgent: string | null }): Promise<{ token: string; expiresAt: Date }>;
  authenticate(db: DbOrTx, token: string): Promise<SessionPrincipal>;
  revoke(db: DbOrTx, sessionId: string): Promise<void>;
  revokeAllForUser(db: DbOrTx, userId: string): Promise<void>;
}

const ISSUER = 'mailplane';
const AUDIENCE = 'mailplane-api';

export function createSessionService(opts: { key: Uint8Array; ttlSeconds: number; now?: () => number }): SessionService {
  const now = opts.now ?? Date.now;
  return {
    async issue(db, userId, meta) {
      const expiresAt = new Date(now() + opts.ttlSeconds * 1000);
      const [row] = await db
        .insert(sessions)
        .values({ userId, expiresAt, ip: meta.ip, userAgent: meta.userAgent?.slice(0, 300) ?? null })
        .returning({ id: sessions.id });
      const token = await new SignJWT({ sid: row!.id })
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setSubject(userId)
        .setIssuer(ISSUER)
        .setAudience(AUDIENCE)
        .setIssuedAt(Math.floor(now() / 1000))
        .setExpirationTime(Math.floor(expiresAt.getTime() / 1000))
        .sign(opts.key);
      return { token, expiresAt };
    },

    async authenticate(db, token) {
      let sid: unknown;
      let sub: string | undefined;
      try {
        const { payload } = await jwtVerify(token, opts.key, {
          issuer: ISSUER,
          audience: AUDIENCE,
          algorithms: ['HS256'],
          currentDate: new Date(now()),
        });
        sid = payload['sid'];
        sub = payload.sub;
      } catch (err) {
        throw new UnauthorizedError(err instanceof joseErrors.JWTExpired ? 'Session expired' : 'Invalid session token');
      }
      if (typeof sid !== 'string' || !sub) throw new UnauthorizedError('Invalid session token');
      const [row] = await db
        .select({
          userId: sessions.userId,
          email: users.email,
          staffRole: users.staffRole,
          twoFactor: hasSecondFactorSql(users.id),
          expiresAt: sessions.expiresAt,
        })
        .from(sessions)
        .innerJoin(users, eq(users.id, sessions.userId))
        .where(and(eq(sessions.id, sid), eq(sessions.userId, sub), isNull(sessions.revokedAt), gt(sessions.expiresAt, new Date(now()))))
        .limit(1);
      if (!row) throw new UnauthorizedError('Session revoked or expired');
      return {
        userId: row.userId,
        sessionId: sid,
        email: row.email,
        staffRole: row.staffRole,
        twoFactor: row.twoFactor === true,
        expiresAt: row.expiresAt.getTime(),
      };
    },

    async revoke(db, sessionId) {
      await db
        .update(sessions)
        .set({ revokedAt: new Date(now()) })
        .where(and(eq(sessions.id, sessionId), isNull(sessions.revokedAt)));
    },

    async revokeAllForUser(db, userId) {
      await db
        .update(sessions)
        .set({ revokedAt: new Date(now()) })
        .where(and(eq(sessions.userId, userId), isNull(sessions.revokedAt)));
    },
  };
}
