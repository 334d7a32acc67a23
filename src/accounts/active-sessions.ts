/**
 * The signed-in devices of an account: listed on the account page and at GET /v1/me/sessions, each
 * one signed out on its own, or all but the current one at once ("I signed in at a friend's").
 * Only the account's own sessions: another account's session id is "not found", never revoked.
 */
import { and, desc, eq, gt, isNull, ne } from 'drizzle-orm';
import { audit, type Actor } from '../audit.ts';
import type { Db } from '../db/client.ts';
import { sessions } from '../db/schema/index.ts';
import { NotFoundError } from '../errors.ts';
import { systemClock } from '../clock.ts';

export interface ActiveSession {
  id: string;
  createdAt: Date;
  expiresAt: Date;
  ip: string | null;
  userAgent: string | null;
  current: boolean;
}

export async function listActiveSessions(db: Db, userId: string, currentSessionId: string, now = new Date(systemClock.now())): Promise<ActiveSession[]> {
  const rows = await db
    .select({ id: sessions.id, createdAt: sessions.createdAt, expiresAt: sessions.expiresAt, ip: sessions.ip, userAgent: sessions.userAgent })
    .from(sessions)
    .where(and(eq(sessions.userId, userId), isNull(sessions.revokedAt), gt(sessions.expiresAt, now)))
    .orderBy(desc(sessions.createdAt));
  return rows.map((r) => ({ ...r, current: r.id === currentSessionId }));
}

/** Signs one of the account's own sessions out (the current one too: that is signing out). */
export async function signOutSession(db: Db, actor: Actor, userId: string, sessionId: string, now = new Date(systemClock.now())): Promise<void> {
  await db.transaction(async (tx) => {
    const [row] = await tx
      .update(sessions)
      .set({ revokedAt: now })
      .where(and(eq(sessions.id, sessionId), eq(sessions.userId, userId), isNull(sessions.revokedAt)))
      .returning({ id: sessions.id });
    if (!row) throw new NotFoundError('Session');
    await audit(tx, actor, { action: 'user.session_revoked', target: userId, details: { sessionId } });
  });
}

/** Signs every other session of the account out → how many there were. */
export async function signOutOtherSessions(db: Db, actor: Actor, userId: string, currentSessionId: string, now = new Date(systemClock.now())): Promise<number> {
  return db.transaction(async (tx) => {
    const rows = await tx
      .update(sessions)
      .set({ revokedAt: now })
      .where(and(eq(sessions.userId, userId), ne(sessions.id, currentSessionId), isNull(sessions.revokedAt)))
      .returning({ id: sessions.id });
    await audit(tx, actor, { action: 'user.other_sessions_revoked', target: userId, details: { count: rows.length } });
    return rows.length;
  });
}
