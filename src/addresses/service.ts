/**
 * Aliases, the catch-all, forwarding and the vacation reply of a server's
 * mailboxes. Same shape as the mailboxes (src/mailboxes/service.ts): a ready
 * server only, the row and its sync job in one transaction (the job pushes the
 * whole mailbox and address set), audited, limited by the plan. The server has
 * a change once the row's `appliedAt` is at or after its `updatedAt`.
 */
import { and, asc, count, eq, ne, sql } from 'drizzle-orm';
import { audit, type Actor } from '../audit.ts';
import type { Database, Db, Tx } from '../db/client.ts';
import { catchAlls, mailAliases, mailboxes, mailForwards, servers, vacations } from '../db/schema/index.ts';
import { ConflictError, NotFoundError, ValidationError } from '../errors.ts';
import type { JobQueue } from '../jobs/queue.ts';
import { enqueueSync, findMailbox } from '../mailboxes/service.ts';
import { findServer, type ServerRow } from '../servers/views.ts';
import type { WorkspaceAccess } from '../workspaces/access.ts';

export interface AddressDeps {
  database: Database;
  queue: JobQueue;
  /** The plan's limits: aliases on the server, mailboxes that forward. */
  limitsOf(planId: string): { aliases: number; forwards: number };
}

type Change = (tx: Tx, server: ServerRow) => Promise<void>;

const applied = (row: { updatedAt: Date; appliedAt: Date | null }) => row.appliedAt !== null && row.appliedAt >= row.updatedAt;
/**
 * `updated_at` of a change, compared above with `applied_at`: both are the database's clock, never the
 * process's (a process clock ahead of or behind PostgreSQL's, or a test's fixed clock, would show a change
 * applied that is not, or never applied). The write's own time, not the transaction's start (`now()`): a
 * sync that marks the row between this transaction's start and its write must not cover this change.
 */
const changedNow = sql`clock_timestamp()`;
const sync = (row: { updatedAt: Date; appliedAt: Date | null }) => ({
  status: applied(row) ? ('applied' as const) : ('pending' as const),
  appliedAt: row.appliedAt?.toISOString() ?? null,
});

async function changeableServer(db: Db, access: WorkspaceAccess, serverId: string): Promise<ServerRow> {
  const server = await findServer(db, serverId, access.workspaceId);
  if (server.status !== 'ready') throw new ConflictError(`The server is ${server.status}; addresses can be changed once it is ready`);
  return server;
}

/** Runs a change with the server row locked (limits hold under concurrency), then queues the server's sync. */
async function change(deps: AddressDeps, access: WorkspaceAccess, serverId: string, fn: Change): Promise<void> {
  const server = await changeableServer(deps.database.db, access, serverId);
  await deps.database.db.transaction(async (tx) => {
    await tx.select({ id: servers.id }).from(servers).where(eq(servers.id, server.id)).for('update');
    await fn(tx, server);
    await enqueueSync(deps.queue, tx, server.id);
  });
}

export async function listAddresses(db: Db, access: WorkspaceAccess, serverId: string) {
  const server = await findServer(db, serverId, access.workspaceId);
  const [aliases, [catchAll], forwards, replies] = await Promise.all([
    db.select().from(mailAliases).where(eq(mailAliases.serverId, server.id)).orderBy(asc(mailAliases.localPart)),
    db
      .select({ row: catchAlls, address: mailboxes.address })
      .from(catchAlls)
      .innerJoin(mailboxes, eq(mailboxes.id, catchAlls.mailboxId))
      .where(eq(catchAlls.serverId, server.id)),
    db.select().from(mailForwards).where(eq(mailForwards.serverId, server.id)),
    db.select().from(vacations).where(eq(vacations.serverId, server.id)),
  ]);
  return {
    domain: server.domain,
    aliases: aliases.map((a) => ({
      id: a.id,
      address: a.address,
      localPart: a.localPart,
      mailboxId: a.mailboxId,
      sync: sync(a),
      createdAt: a.createdAt.toISOString(),
    })),
    catchAll: catchAll ? { mailboxId: catchAll.row.mailboxId, address: catchAll.address, sync: sync(catchAll.row) } : null,
    forwards: forwards.map((f) => ({ mailboxId: f.mailboxId, target: f.target, keepCopy: f.keepCopy, sync: sync(f) })),
    vacations: replies.map((v) => ({
      mailboxId: v.mailboxId,
      startsOn: v.startsOn,
      endsOn: v.endsOn,
      subject: v.subject,
      message: v.message,
      days: v.days,
      sync: sync(v),
    })),
  };
}

export async function createAlias(
  deps: AddressDeps,
  actor: Actor,
  access: WorkspaceAccess,
  serverId: string,
  input: { localPart: string; mailboxId: string },
): Promise<{ id: string; address: string }> {
  let created = { id: '', address: '' };
  await change(deps, access, serverId, async (tx, server) => {
    const mailbox = await activeMailbox(tx, server.id, input.mailboxId, 'mailboxId');
    const limit = deps.limitsOf(server.planId).aliases;
    const [{ n }] = (await tx.select({ n: count() }).from(mailAliases).where(eq(mailAliases.serverId, server.id))) as [{ n: number }];
    if (Number(n) >= limit) throw new ConflictError(`The ${server.planId} plan includes ${limit} aliases`, 'plan_limit');
    const address = `${input.localPart}@${server.domain}`;
    const [box] = await tx
      .select({ id: mailboxes.id })
      .from(mailboxes)
      .where(and(eq(mailboxes.serverId, server.id), eq(mailboxes.localPart, input.localPart)));
    const [alias] = await tx
      .select({ id: mailAliases.id })
      .from(mailAliases)
      .where(and(eq(mailAliases.serverId, server.id), eq(mailAliases.localPart, input.localPart)));
    if (box || alias) throw new ConflictError(`${address} already exists${box ? ' as a mailbox' : ''}`);
    const [row] = await tx
      .insert(mailAliases)
      .values({ workspaceId: server.workspaceId, serverId: server.id, mailboxId: mailbox.id, localPart: input.localPart, address })
      .returning();
    await audit(tx, actor, { action: 'alias.create', workspaceId: server.workspaceId, target: row!.id, details: { address, mailbox: mailbox.address } });
    created = { id: row!.id, address };
  });
  return created;
}

export async function deleteAlias(deps: AddressDeps, actor: Actor, access: WorkspaceAccess, serverId: string, aliasId: string): Promise<void> {
  await change(deps, access, serverId, async (tx, server) => {
    const [row] = /^[0-9a-f-]{36}$/i.test(aliasId)
      ? await tx
          .delete(mailAliases)
          .where(and(eq(mailAliases.id, aliasId), eq(mailAliases.serverId, server.id)))
          .returning()
      : [];
    if (!row) throw new NotFoundError('Alias');
    await audit(tx, actor, { action: 'alias.delete', workspaceId: server.workspaceId, target: row.id, details: { address: row.address } });
  });
}

/** Off by default; `mailboxId: null` turns it off. */
export async function setCatchAll(deps: AddressDeps, actor: Actor, access: WorkspaceAccess, serverId: string, mailboxId: string | null): Promise<void> {
  await change(deps, access, serverId, async (tx, server) => {
    await tx.delete(catchAlls).where(eq(catchAlls.serverId, server.id));
    let address: string | null = null;
    if (mailboxId) {
      const mailbox = await activeMailbox(tx, server.id, mailboxId, 'mailboxId');
      await tx.insert(catchAlls).values({ serverId: server.id, workspaceId: server.workspaceId, mailboxId: mailbox.id });
      address = mailbox.address;
    }
    await audit(tx, actor, {
      action: address ? 'catch_all.set' : 'catch_all.off',
      workspaceId: server.workspaceId,
      target: server.id,
      details: { mailbox: address },
    });
  });
}

export async function setForward(
  deps: AddressDeps,
  actor: Actor,
  access: WorkspaceAccess,
  serverId: string,
  mailboxId: string,
  input: { target: string; keepCopy: boolean },
): Promise<void> {
  await change(deps, access, serverId, async (tx, server) => {
    const mailbox = await findMailbox(tx, server.id, mailboxId);
    const target = input.target;
    if (target.slice(target.lastIndexOf('@') + 1) === server.domain) {
      throw new ValidationError(`${target} is on this server: make it an alias instead`, {
        errors: [{ path: 'json.target', message: 'must be an address outside this domain' }],
      });
    }
    const others = await tx
      .select({ n: count() })
      .from(mailForwards)
      .where(and(eq(mailForwards.serverId, server.id), ne(mailForwards.mailboxId, mailbox.id)));
    const limit = deps.limitsOf(server.planId).forwards;
    if (Number(others[0]!.n) >= limit) throw new ConflictError(`The ${server.planId} plan includes forwarding for ${limit} mailboxes`, 'plan_limit');
    await tx
      .insert(mailForwards)
      .values({ mailboxId: mailbox.id, workspaceId: server.workspaceId, serverId: server.id, target, keepCopy: input.keepCopy, updatedAt: changedNow })
      .onConflictDoUpdate({ target: mailForwards.mailboxId, set: { target, keepCopy: input.keepCopy, updatedAt: changedNow } });
    await audit(tx, actor, {
      action: 'forward.set',
      workspaceId: server.workspaceId,
      target: mailbox.id,
      details: { address: mailbox.address, to: target, keepCopy: input.keepCopy },
    });
  });
}

export interface VacationInput {
  startsOn: string;
  endsOn: string;
  subject: string;
  message: string;
  days: number;
}

export async function setVacation(
  deps: AddressDeps,
  actor: Actor,
  access: WorkspaceAccess,
  serverId: string,
  mailboxId: string,
  input: VacationInput,
): Promise<void> {
  if (input.endsOn < input.startsOn)
    throw new ValidationError('endsOn is before startsOn', { errors: [{ path: 'json.endsOn', message: 'must be on or after startsOn' }] });
  await change(deps, access, serverId, async (tx, server) => {
    const mailbox = await findMailbox(tx, server.id, mailboxId);
    await tx
      .insert(vacations)
      .values({ mailboxId: mailbox.id, workspaceId: server.workspaceId, serverId: server.id, ...input, updatedAt: changedNow })
      .onConflictDoUpdate({ target: vacations.mailboxId, set: { ...input, updatedAt: changedNow } });
    await audit(tx, actor, {
      action: 'vacation.set',
      workspaceId: server.workspaceId,
      target: mailbox.id,
      details: { address: mailbox.address, startsOn: input.startsOn, endsOn: input.endsOn },
    });
  });
}

/** Removes the mailbox's forward or vacation reply; 404 when it has none. */
export async function removeMailboxSetting(
  deps: AddressDeps,
  actor: Actor,
  access: WorkspaceAccess,
  serverId: string,
  mailboxId: string,
  what: 'forward' | 'vacation',
): Promise<void> {
  await change(deps, access, serverId, async (tx, server) => {
    const mailbox = await findMailbox(tx, server.id, mailboxId);
    const table = what === 'forward' ? mailForwards : vacations;
    const [gone] = await tx.delete(table).where(eq(table.mailboxId, mailbox.id)).returning();
    if (!gone) throw new NotFoundError(what === 'forward' ? 'Forward' : 'Vacation reply');
    await audit(tx, actor, { action: `${what}.remove`, workspaceId: server.workspaceId, target: mailbox.id, details: { address: mailbox.address } });
  });
}

/** A mailbox named in a body: not found is a 400 on that field (the path itself was fine). */
async function activeMailbox(tx: Tx, serverId: string, mailboxId: string, field: string) {
  try {
    return await findMailbox(tx, serverId, mailboxId);
  } catch (err) {
    if (err instanceof NotFoundError)
      throw new ValidationError(`${field} is not a mailbox of this server`, {
        errors: [{ path: `json.${field}`, message: 'is not a mailbox of this server' }],
      });
    throw err;
  }
}
