/**
 * The `mailboxes.sync` job: pushes a server's whole mailbox set (Dovecot
 * passwd-file and Postfix maps, rendered by the mail-stack templates) over SSH
 * and runs apply-mailboxes.sh, which validates, postmaps and reloads. Pushing
 * the whole set makes the job idempotent and order-free: whichever sync runs
 * last leaves the server matching the database. Rows are marked with the
 * version that was pushed, so a change made during a push stays pending for
 * the next sync (which that change enqueued).
 *
 * Retries are the queue's (src/jobs/catalog.ts): a failed push marks the rows
 * pending with the reason and throws; a refusal no retry can change (not
 * retryable) gives up at once; a sync that fails for good marks them failed
 * (markSyncFailed, the dead letter handler), and the 10-minute resync tries again.
 */
import { and, asc, eq, inArray, lt } from 'drizzle-orm';
import { mailboxes, servers } from '../db/schema/index.ts';
import { isRetryable } from '../errors.ts';
import { markAddressesApplied, renderServerAddresses } from '../addresses/sync.ts';
import { renderMailboxFiles } from '../mailstack/mailboxes.ts';
import { mailGuardFiles } from './mail-guard-sync.ts';
import { GiveUp } from '../jobs/give-up.ts';
import type { ProvisioningDeps } from '../../provisioning/context.ts';
import { runScript, withSession } from '../../provisioning/remote.ts';

/** The `mailboxes.sync` job. `attempt`: 1 for the first (the job's retryCount + 1). Throws when the push failed. */
export async function syncMailboxes(deps: ProvisioningDeps, job: { serverId: string }, attempt = 1): Promise<'applied' | 'skipped'> {
  const { db } = deps.database;
  const [server] = await db.select().from(servers).where(eq(servers.id, job.serverId));
  // Gone, or being torn down: the rows go with the server.
  if (!server || !['ready', 'suspended'].includes(server.status)) return 'skipped';
  // Oldest first: the first mailbox also receives postmaster@ and abuse@ (renderMailboxFiles).
  const rows = await db.select().from(mailboxes).where(eq(mailboxes.serverId, server.id)).orderBy(asc(mailboxes.createdAt), asc(mailboxes.id));
  const log = (line: string) => deps.log.info({ serverId: server.id, job: 'mailboxes.sync' }, line);
  try {
    await pushMailboxSet(
      deps,
      server,
      rows.filter((r) => r.state === 'active'),
      log,
    );
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const retryable = isRetryable(err);
    await db
      .update(mailboxes)
      .set({ syncStatus: retryable ? 'pending' : 'failed', syncError: message.slice(0, 1000), updatedAt: new Date(deps.clock.now()) })
      .where(
        and(
          eq(mailboxes.serverId, server.id),
          inArray(
            mailboxes.id,
            rows.map((r) => r.id),
          ),
        ),
      );
    deps.log.warn({ serverId: server.id, attempt, err }, 'mailbox sync failed');
    if (!retryable) throw new GiveUp(message, { cause: err });
    throw err;
  }
  await db.transaction(async (tx) => {
    for (const row of rows) {
      const [now] = await tx.select({ version: mailboxes.version }).from(mailboxes).where(eq(mailboxes.id, row.id)).for('update');
      if (!now) continue;
      const current = now.version === row.version;
      if (row.state === 'deleting' && current) {
        await tx.delete(mailboxes).where(eq(mailboxes.id, row.id));
        continue;
      }
      await tx
        .update(mailboxes)
        .set({
          appliedVersion: row.version,
          appliedAt: new Date(deps.clock.now()),
          ...(current ? { syncStatus: 'applied' as const, syncError: null } : {}),
        })
        .where(eq(mailboxes.id, row.id));
    }
  });
  return 'applied';
}

/**
 * The `mailboxes.sync_failed` job: the sync's last attempt failed (or expired), so the mailboxes it
 * left pending are failed, with the reason, until the resync sweep or the next change pushes again.
 */
export async function markSyncFailed(deps: Pick<ProvisioningDeps, 'database' | 'log' | 'clock'>, serverId: string, error: string): Promise<void> {
  await deps.database.db
    .update(mailboxes)
    .set({ syncStatus: 'failed', syncError: error.slice(0, 1000), updatedAt: new Date(deps.clock.now()) })
    .where(and(eq(mailboxes.serverId, serverId), eq(mailboxes.syncStatus, 'pending')));
  deps.log.warn({ serverId, error }, 'mailbox sync gave up; the resync sweep tries again');
}

/**
 * Uploads the server's whole mailbox set (Dovecot passwd-file, Postfix maps, the app passwords
 * of those mailboxes, the domain's junk score) and applies it. `active`: oldest first.
 */
export async function pushMailboxSet(
  deps: ProvisioningDeps,
  server: typeof servers.$inferSelect,
  active: Pick<typeof mailboxes.$inferSelect, 'id' | 'localPart' | 'passwordHash' | 'quotaMb' | 'mainPasswordForClients'>[],
  log: (line: string) => void,
): Promise<void> {
  const files = [
    ...renderMailboxFiles(
      server.domain,
      active.map((r) => ({ localPart: r.localPart, passwordHash: r.passwordHash, quotaMb: r.quotaMb, mainPasswordForClients: r.mainPasswordForClients })),
    ),
    ...(await mailGuardFiles(deps.database.db, server, active)),
  ];
  // Aliases, catch-all, forwarding and vacation (src/addresses/): applied first, as apply-mailboxes.sh reloads.
  const addresses = await renderServerAddresses(
    deps.database.db,
    server,
    active.map((r) => r.localPart),
  );
  await withSession(deps, server, async (session) => {
    await session.upload([...files, ...addresses.files].map((f) => ({ path: f.path, content: f.content, mode: f.mode })));
    await runScript(session, 'apply-addresses.sh', log);
    await runScript(session, 'apply-mailboxes.sh', log);
  });
  await markAddressesApplied(deps.database.db, addresses.seen);
}

/**
 * The `mailboxes.resync` sweep: a server that was unreachable for longer than
 * the sync job's retries leaves mailboxes `failed` (or `pending`); each sweep
 * queues one more sync for those servers, so they converge without anyone
 * touching them again. Returns the servers queued.
 */
export async function resyncStaleMailboxes(deps: ProvisioningDeps, opts: { olderThanMs: number }): Promise<string[]> {
  const { db } = deps.database;
  const cutoff = new Date(deps.clock.now() - opts.olderThanMs);
  const stale = await db
    .selectDistinct({ serverId: mailboxes.serverId })
    .from(mailboxes)
    .innerJoin(servers, eq(servers.id, mailboxes.serverId))
    .where(and(inArray(mailboxes.syncStatus, ['pending', 'failed']), lt(mailboxes.updatedAt, cutoff), eq(servers.status, 'ready')));
  for (const { serverId } of stale) await deps.queue.send('mailboxes.sync', { serverId }, { singletonKey: serverId });
  return stale.map((s) => s.serverId);
}
