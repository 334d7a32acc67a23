/**
 * Whether a person has a second factor, and whether they must: staff always
 * must, and so must every member of a workspace that requires it.
 */
import { and, eq, isNotNull, isNull, sql } from 'drizzle-orm';
import type { DbOrTx } from '../../db/client.ts';
import { memberships, passkeys, totpCredentials, users, workspaces } from '../../db/schema/index.ts';

/** SQL true when the user (by id column) has a confirmed authenticator or a passkey: one expression for every query. */
export const hasSecondFactorSql = (
  userId: unknown,
) => sql<boolean>`(exists (select 1 from ${totpCredentials} where ${totpCredentials.userId} = ${userId} and ${totpCredentials.confirmedAt} is not null)
  or exists (select 1 from ${passkeys} where ${passkeys.userId} = ${userId}))`;

export async function hasSecondFactor(db: DbOrTx, userId: string): Promise<boolean> {
  const [row] = await db
    .select({ on: hasSecondFactorSql(users.id) })
    .from(users)
    .where(eq(users.id, userId));
  return row?.on === true;
}

export interface TwoFactorRequirement {
  required: boolean;
  /** Why, for the enrolment page: "staff", or the names of the workspaces that require it. */
  staff: boolean;
  workspaces: string[];
}

export async function twoFactorRequirement(db: DbOrTx, userId: string): Promise<TwoFactorRequirement> {
  const [user] = await db.select({ staffRole: users.staffRole }).from(users).where(eq(users.id, userId));
  const requiring = await db
    .select({ name: workspaces.name })
    .from(memberships)
    .innerJoin(workspaces, eq(workspaces.id, memberships.workspaceId))
    .where(and(eq(memberships.userId, userId), eq(workspaces.requireTwoFactor, true), isNull(workspaces.erasureRequestedAt)));
  const staff = user?.staffRole != null;
  return { required: staff || requiring.length > 0, staff, workspaces: requiring.map((w) => w.name) };
}

export async function confirmedTotpExists(db: DbOrTx, userId: string): Promise<boolean> {
  return (
    (
      await db
        .select({ id: totpCredentials.userId })
        .from(totpCredentials)
        .where(and(eq(totpCredentials.userId, userId), isNotNull(totpCredentials.confirmedAt)))
    ).length > 0
  );
}
