/**
 * The address part of the `mailboxes.sync` job: reads a server's aliases,
 * catch-all, forwards and vacation replies, renders them (mailstack/addresses.ts)
 * and, once the server has them, marks the rows applied. Rows of a mailbox that
 * is being deleted are left out: they go with it.
 */
import { and, eq, gte, lt, sql } from 'drizzle-orm';
import type { AnyPgColumn } from 'drizzle-orm/pg-core';
import type { Db } from '../db/client.ts';
import { catchAlls, mailAliases, mailboxes, mailForwards, vacations } from '../db/schema/index.ts';
import { renderAddressFiles, type AddressSet } from '../mailstack/addresses.ts';
import type { RenderedFile } from '../mailstack/render.ts';

/** The files, and the rows they were rendered from (by key and version) to mark applied once the server has them. */
export interface LoadedAddresses {
  files: RenderedFile[];
  seen: Seen;
}
interface Seen {
  aliases: Row[];
  catchAll: Row[];
  forwards: Row[];
  vacations: Row[];
}
interface Row {
  key: string;
  updatedAt: Date;
}

export async function renderServerAddresses(db: Db, server: { id: string; domain: string }, activeLocalParts: readonly string[]): Promise<LoadedAddresses> {
  const owner = { localPart: mailboxes.localPart, state: mailboxes.state };
  const [aliases, catchAll, forwards, replies] = await Promise.all([
    db
      .select({ a: mailAliases, ...owner })
      .from(mailAliases)
      .innerJoin(mailboxes, eq(mailboxes.id, mailAliases.mailboxId))
      .where(eq(mailAliases.serverId, server.id)),
    db
      .select({ ...owner, updatedAt: catchAlls.updatedAt })
      .from(catchAlls)
      .innerJoin(mailboxes, eq(mailboxes.id, catchAlls.mailboxId))
      .where(eq(catchAlls.serverId, server.id)),
    db
      .select({ f: mailForwards, ...owner })
      .from(mailForwards)
      .innerJoin(mailboxes, eq(mailboxes.id, mailForwards.mailboxId))
      .where(eq(mailForwards.serverId, server.id)),
    db
      .select({ v: vacations, ...owner })
      .from(vacations)
      .innerJoin(mailboxes, eq(mailboxes.id, vacations.mailboxId))
      .where(eq(vacations.serverId, server.id)),
  ]);
  const active = new Set(activeLocalParts);
  const live = <T extends { localPart: string }>(rows: T[]) => rows.filter((r) => active.has(r.localPart));
  const set: AddressSet = {
    mailboxes: [...active],
    aliases: live(aliases).map((r) => ({ localPart: r.a.localPart, mailbox: r.localPart })),
    catchAll: live(catchAll)[0]?.localPart ?? null,
    forwards: live(forwards).map((r) => ({ mailbox: r.localPart, target: r.f.target, keepCopy: r.f.keepCopy })),
    vacations: live(replies).map((r) => ({
      mailbox: r.localPart,
      startsOn: r.v.startsOn,
      endsOn: r.v.endsOn,
      subject: r.v.subject,
      message: r.v.message,
      days: r.v.days,
    })),
  };
  const seen: Seen = {
    aliases: aliases.map((r) => ({ key: r.a.id, updatedAt: r.a.updatedAt })),
    catchAll: catchAll.map((r) => ({ key: server.id, updatedAt: r.updatedAt })),
    forwards: forwards.map((r) => ({ key: r.f.mailboxId, updatedAt: r.f.updatedAt })),
    vacations: replies.map((r) => ({ key: r.v.mailboxId, updatedAt: r.v.updatedAt })),
  };
  return { files: renderAddressFiles(server.domain, set), seen };
}

/**
 * Marks applied exactly the rows that were pushed, as they were: a row changed since (its
 * `updatedAt` moved) stays pending for the sync its change queued.
 *
 * `applied_at` is this transaction's start on the database's clock, as `updated_at` is the
 * database's (addresses/service.ts): a row is applied when the one is at or after the other, so both
 * come from one clock. Every row read was written before the read, so before this transaction began.
 */
export async function markAddressesApplied(db: Db, seen: Seen): Promise<void> {
  const appliedAt = sql`now()`;
  // PostgreSQL keeps microseconds, a JS Date milliseconds: "as read" is within that millisecond.
  const same = (column: AnyPgColumn, at: Date) => and(gte(column, at), lt(column, new Date(at.getTime() + 1)));
  await db.transaction(async (tx) => {
    for (const r of seen.aliases)
      await tx
        .update(mailAliases)
        .set({ appliedAt })
        .where(and(eq(mailAliases.id, r.key), same(mailAliases.updatedAt, r.updatedAt)));
    for (const r of seen.catchAll)
      await tx
        .update(catchAlls)
        .set({ appliedAt })
        .where(and(eq(catchAlls.serverId, r.key), same(catchAlls.updatedAt, r.updatedAt)));
    for (const r of seen.forwards)
      await tx
        .update(mailForwards)
        .set({ appliedAt })
        .where(and(eq(mailForwards.mailboxId, r.key), same(mailForwards.updatedAt, r.updatedAt)));
    for (const r of seen.vacations)
      await tx
        .update(vacations)
        .set({ appliedAt })
        .where(and(eq(vacations.mailboxId, r.key), same(vacations.updatedAt, r.updatedAt)));
  });
}
