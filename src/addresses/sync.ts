/**
 * The address part of the `mailboxes.sync` job: reads a server's aliases,
 * catch-all, forwards and vacation replies, renders them (mailstack/addresses.ts)
 * and, once the server has them, marks the rows applied. Rows of a mailbox that
 * is being deleted are left out: they go with it.
 */
import { and, eq, lte } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { catchAlls, mailAliases, mailboxes, mailForwards, vacations } from '../db/schema/index.ts';
import { renderAddressFiles, type AddressSet } from '../mailstack/addresses.ts';
import type { RenderedFile } from '../mailstack/render.ts';

export interface LoadedAddresses { files: RenderedFile[]; readAt: Date }

export async function renderServerAddresses(db: Db, server: { id: string; domain: string }, activeLocalParts: readonly string[]): Promise<LoadedAddresses> {
  // Read before the rows: a change committed after this instant stays pending for the next sync.
  const readAt = new Date();
  const owner = { localPart: mailboxes.localPart, state: mailboxes.state };
  const [aliases, catchAll, forwards, replies] = await Promise.all([
    db.select({ a: mailAliases, ...owner }).from(mailAliases).innerJoin(mailboxes, eq(mailboxes.id, mailAliases.mailboxId)).where(eq(mailAliases.serverId, server.id)),
    db.select({ ...owner }).from(catchAlls).innerJoin(mailboxes, eq(mailboxes.id, catchAlls.mailboxId)).where(eq(catchAlls.serverId, server.id)),
    db.select({ f: mailForwards, ...owner }).from(mailForwards).innerJoin(mailboxes, eq(mailboxes.id, mailForwards.mailboxId)).where(eq(mailForwards.serverId, server.id)),
    db.select({ v: vacations, ...owner }).from(vacations).innerJoin(mailboxes, eq(mailboxes.id, vacations.mailboxId)).where(eq(vacations.serverId, server.id)),
  ]);
  const active = new Set(activeLocalParts);
  const live = <T extends { localPart: string }>(rows: T[]) => rows.filter((r) => active.has(r.localPart));
  const set: AddressSet = {
    mailboxes: [...active],
    aliases: live(aliases).map((r) => ({ localPart: r.a.localPart, mailbox: r.localPart })),
    catchAll: live(catchAll)[0]?.localPart ?? null,
    forwards: live(forwards).map((r) => ({ mailbox: r.localPart, target: r.f.target, keepCopy: r.f.keepCopy })),
    vacations: live(replies).map((r) => ({ mailbox: r.localPart, startsOn: r.v.startsOn, endsOn: r.v.endsOn, subject: r.v.subject, message: r.v.message, days: r.v.days })),
  };
  return { files: renderAddressFiles(server.domain, set), readAt };
}

export async function markAddressesApplied(db: Db, serverId: string, readAt: Date): Promise<void> {
  const at = { appliedAt: readAt };
  await db.update(mailAliases).set(at).where(and(eq(mailAliases.serverId, serverId), lte(mailAliases.updatedAt, readAt)));
  await db.update(catchAlls).set(at).where(and(eq(catchAlls.serverId, serverId), lte(catchAlls.updatedAt, readAt)));
  await db.update(mailForwards).set(at).where(and(eq(mailForwards.serverId, serverId), lte(mailForwards.updatedAt, readAt)));
  await db.update(vacations).set(at).where(and(eq(vacations.serverId, serverId), lte(vacations.updatedAt, readAt)));
}
