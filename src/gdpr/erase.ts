/**
 * GDPR erasure. Asking is immediate and final: the account's personal data is
 * scrubbed at once (email, name, sessions, IPs and mentions in the audit
 * trail, invitations sent to it), memberships in workspaces with another
 * owner end, and each workspace the caller solely owns is marked for erasure.
 * Erasing a workspace is a job that cancels its Stripe subscriptions (and
 * deletes the Stripe customers, which hold the email), runs the
 * deprovision workflow for every server, waits until all are gone, deletes
 * every server's backups (the time the storage held nothing more is recorded in
 * the audit trail: when the last copy was gone), then deletes its rows; the
 * account row goes last. Audit entries stay, with the
 * erased user's id as a pseudonym (no row maps it back to a person).
 *
 * An attempt that must wait (Stripe away, servers still being deprovisioned, a
 * zone or a backup not deleted yet) throws StillErasing and the queue retries it
 * (src/jobs/catalog.ts); when the retries are spent ops are alerted and the
 * erasure starts over (erasureStuck): it is owed, so it never ends unfinished.
 */
import { and, eq, inArray, isNull, ne, sql } from 'drizzle-orm';
import type { AlertSink } from '../../provisioning/alerts.ts';
import type { Engine } from '../../provisioning/engine.ts';
import { recordErasedServerMetrics } from '../ops/metric-offsets.ts';
import { audit, SYSTEM_ACTOR, type Actor } from '../audit.ts';
import type { PasswordHasher } from '../auth/passwords.ts';
import type { Database, DbOrTx, Tx } from '../db/client.ts';
import {
  alerts,
  auditLog,
  authChallenges,
  blacklistChecks,
  invitations,
  memberships,
  passkeys,
  provisioningRuns,
  recoveryCodes,
  sandboxMail,
  servers,
  sessions,
  subscriptions,
  totpCredentials,
  users,
  vaultSecrets,
  workspaces,
} from '../db/schema/index.ts';
import { ForbiddenError, isRetryable, NotFoundError } from '../errors.ts';
import type { JobQueue } from '../jobs/queue.ts';
import type { Logger } from '../log.ts';
import { sendBestEffort, type Mailer } from '../mail/mailer.ts';
import { erasureStartedMessage } from '../mail/messages.ts';
import type { BillingProvider } from '../providers/billing/interface.ts';
import type { DnsProvider } from '../providers/dns/interface.ts';
import { startDeprovision } from '../servers/lifecycle.ts';
import type { BackupDeps } from '../backups/deps.ts';
import { deleteBackups } from '../backups/retire.ts';
import type { Clock } from '../clock.ts';

export interface ErasureDeps {
  database: Database;
  queue: JobQueue;
  billing: BillingProvider;
  dns: DnsProvider;
  hasher: PasswordHasher;
  engine: Pick<Engine, 'resumeRun'>;
  alerts: AlertSink;
  log: Logger;
  /** The goodbye message to the person whose account is erased. */
  mailer: Mailer;
  /** The servers' backups are deleted with the workspace (absent: no backup storage). */
  backups?: BackupDeps;
  /** Between an owner asking to erase a workspace and the erasure starting (src/gdpr/erasure-grace.ts); 0: at once. */
  workspaceGraceMs: number;
  /** Where links in the owners' mail point (the dashboard). */
  publicUrl: string;
  /** When an erasure was asked for, when its grace period ends, what the rows it changes are stamped with. */
  clock: Clock;
}

/** This attempt cannot finish yet; the queue retries it (gdpr.erase_workspace's policy). */
export class StillErasing extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StillErasing';
  }
}

export async function markWorkspace(deps: ErasureDeps, tx: Tx, workspaceId: string): Promise<void> {
  await tx
    .update(workspaces)
    .set({ erasureRequestedAt: new Date(deps.clock.now()), erasureScheduledFor: null })
    .where(and(eq(workspaces.id, workspaceId), isNull(workspaces.erasureRequestedAt)));
  await deps.queue.send('gdpr.erase_workspace', { workspaceId }, { tx, singletonKey: workspaceId });
}

/** DELETE /v1/workspaces/{ws} (owner). */
/**
 * Erasure is final, so the API asks what the dashboard asks: the workspace's name typed back, or
 * the caller's password. A call with the right id alone (a fuzzer, a script with the wrong
 * variable, a stolen session without the password or the name) erases nothing.
 */
export async function assertWorkspaceErasureConfirmed(
  deps: Pick<ErasureDeps, 'database' | 'hasher'>,
  workspaceId: string,
  userId: string,
  given: { confirm?: string | undefined; password?: string | undefined },
): Promise<void> {
  const [ws] = await deps.database.db.select({ name: workspaces.name }).from(workspaces).where(eq(workspaces.id, workspaceId));
  if (!ws) throw new NotFoundError('Workspace');
  if (given.confirm !== undefined) {
    if (given.confirm.trim() !== ws.name) throw new ForbiddenError('The workspace name typed back does not match; nothing was erased');
    return;
  }
  const [user] = await deps.database.db.select({ passwordHash: users.passwordHash }).from(users).where(eq(users.id, userId));
  if (!user || !(await deps.hasher.verify(user.passwordHash, given.password ?? '')))
    throw new ForbiddenError('The password confirmation does not match; nothing was erased');
}

export async function requestWorkspaceErasure(deps: ErasureDeps, actor: Actor, workspaceId: string): Promise<void> {
  await deps.database.db.transaction(async (tx) => {
    await markWorkspace(deps, tx, workspaceId);
    await audit(tx, actor, { action: 'workspace.erasure_requested', workspaceId, target: workspaceId });
  });
}

/** DELETE /v1/me, confirmed with the password. Returns the workspaces being erased with the account. */
export async function requestAccountErasure(deps: ErasureDeps, userId: string, password: string): Promise<{ workspaces: string[] }> {
  const [user] = await deps.database.db.select().from(users).where(eq(users.id, userId));
  if (!user || user.erasureRequestedAt) throw new NotFoundError('User');
  if (!(await deps.hasher.verify(user.passwordHash, password))) throw new ForbiddenError('The password confirmation does not match');
  const erasing = await deps.database.db.transaction(async (tx) => {
    const mine = await tx.select().from(memberships).where(eq(memberships.userId, userId)).for('update');
    const erasing: string[] = [];
    for (const m of mine) {
      const otherOwners =
        m.role === 'owner'
          ? await tx
              .select({ userId: memberships.userId })
              .from(memberships)
              .where(and(eq(memberships.workspaceId, m.workspaceId), eq(memberships.role, 'owner'), ne(memberships.userId, userId)))
          : [{ userId: 'n/a' }];
      if (otherOwners.length === 0) {
        erasing.push(m.workspaceId);
        await markWorkspace(deps, tx, m.workspaceId);
      } else {
        await tx.delete(memberships).where(and(eq(memberships.workspaceId, m.workspaceId), eq(memberships.userId, userId)));
      }
    }
    await scrubPerson(tx, user, new Date(deps.clock.now()));
    await audit(tx, { id: userId, kind: 'user', ip: null }, { action: 'user.erasure_requested', target: userId, details: { workspaces: erasing } });
    await deps.queue.send('gdpr.erase_user', { userId }, { tx, singletonKey: userId });
    return erasing;
  });
  // After the commit, so nobody is told of an erasure that did not happen; the address is already gone from our records.
  await sendBestEffort(deps.mailer, deps.log, erasureStartedMessage(user.email, erasing.length));
  return { workspaces: erasing };
}

/** Removes the person from every place that names them; the row stays (as a shell) until its workspaces are gone. */
async function scrubPerson(tx: DbOrTx, user: { id: string; email: string; name: string }, now: Date): Promise<void> {
  // Mentions inside audit details: the email anywhere, the name where it is a whole JSON string.
  const quotedName = JSON.stringify(user.name);
  await tx
    .update(auditLog)
    .set({
      details: sql`replace(replace(${auditLog.details}::text, ${user.email}, '[erased]'), ${quotedName}, '"[erased]"')::jsonb`,
    })
    .where(sql`${auditLog.details}::text like ${`%${user.email}%`} or (length(${user.name}) > 0 and ${auditLog.details}::text like ${`%${quotedName}%`})`);
  await tx.update(auditLog).set({ ip: null }).where(eq(auditLog.actorId, user.id));
  await tx.delete(invitations).where(eq(invitations.email, user.email));
  await tx.delete(sessions).where(eq(sessions.userId, user.id));
  // Second factors: the authenticator's sealed secret, passkeys, recovery codes, open sign-ins.
  await tx.delete(vaultSecrets).where(and(eq(vaultSecrets.ownerTable, 'totp_credentials'), eq(vaultSecrets.ownerId, user.id)));
  for (const table of [totpCredentials, passkeys, recoveryCodes, authChallenges]) await tx.delete(table).where(eq(table.userId, user.id));
  // The sandbox outbox is mailplane's own copy of what it mailed them (links, notices): it goes too.
  await tx.delete(sandboxMail).where(sql`${user.email} = any(${sandboxMail.to})`);
  await tx
    .update(users)
    .set({ email: `${user.id}@erased.invalid`, name: '', passwordHash: '!erased', staffRole: null, erasureRequestedAt: now })
    .where(eq(users.id, user.id));
}

/**
 * Removes something at Stripe. False: Stripe is unavailable for now, try again
 * later. A refusal for good does not hold the erasure up: ops get an alert to
 * finish that part by hand.
 */
async function removeAtStripe(deps: ErasureDeps, what: string, remove: () => Promise<void>): Promise<boolean> {
  try {
    await remove();
  } catch (err) {
    if (isRetryable(err)) return false;
    deps.log.error({ err, what }, 'erasure: Stripe refused');
    await deps.alerts.open(deps.database.db, {
      kind: 'erasure_billing_refused',
      severity: 'warning',
      serverId: null,
      dedupeKey: `erasure-billing:${what}`,
      message: `Erasure: Stripe refused to remove ${what} (${err instanceof Error ? err.message : String(err)}); remove it in the Stripe dashboard`,
    });
  }
  return true;
}

/** The `gdpr.erase_workspace` job. */
export async function eraseWorkspace(deps: ErasureDeps, job: { workspaceId: string }): Promise<'erased' | 'gone'> {
  const { db } = deps.database;
  const [ws] = await db.select().from(workspaces).where(eq(workspaces.id, job.workspaceId));
  if (!ws) return 'gone';
  const actor: Actor = { ...SYSTEM_ACTOR, id: 'gdpr-erasure' };

  // 1. Billing stops first: no renewal may be charged for servers being removed.
  const subs = await db
    .select()
    .from(subscriptions)
    .where(and(eq(subscriptions.workspaceId, ws.id), ne(subscriptions.status, 'canceled')));
  for (const sub of subs) {
    const id = sub.stripeSubscriptionId;
    if (id && !(await removeAtStripe(deps, `subscription ${id}`, () => deps.billing.cancelSubscription(id)))) {
      throw new StillErasing(`Stripe could not cancel subscription ${id} yet`);
    }
    await db
      .update(subscriptions)
      .set({ status: 'canceled', updatedAt: new Date(deps.clock.now()) })
      .where(eq(subscriptions.id, sub.id));
  }
  // The Stripe customer carries the person's email: it goes too.
  const customers = await db.selectDistinct({ id: subscriptions.stripeCustomerId }).from(subscriptions).where(eq(subscriptions.workspaceId, ws.id));
  for (const { id } of customers) {
    if (id && !(await removeAtStripe(deps, `customer ${id}`, () => deps.billing.deleteCustomer(id)))) {
      throw new StillErasing(`Stripe could not delete customer ${id} yet`);
    }
  }

  // 2. Every server goes through the deprovision workflow (a failed one is resumed).
  const live = await db
    .select()
    .from(servers)
    .where(and(eq(servers.workspaceId, ws.id), ne(servers.status, 'deleted')));
  for (const server of live) {
    const [run] = await db
      .select()
      .from(provisioningRuns)
      .where(eq(provisioningRuns.serverId, server.id))
      .orderBy(sql`${provisioningRuns.createdAt} desc`)
      .limit(1);
    if (run?.kind === 'deprovision' && run.status === 'running') continue;
    if (run?.kind === 'deprovision' && run.status === 'failed') {
      await deps.engine.resumeRun(actor, server.id).catch((err: unknown) => deps.log.warn({ err, serverId: server.id }, 'erasure: resume failed'));
      continue;
    }
    if (run?.kind === 'deprovision' && run.status === 'succeeded') continue;
    await deps.database.db.transaction(async (tx) => {
      const [locked] = await tx.select().from(servers).where(eq(servers.id, server.id)).for('update');
      if (locked && locked.status !== 'deleted') await startDeprovision(deps, tx, locked, actor, 'Workspace erased (GDPR)');
    });
  }
  if (live.length > 0) throw new StillErasing(`waits for ${live.length} server(s) to be deprovisioned: ${live.map((s) => `${s.id} (${s.status})`).join(', ')}`);

  // 3. The DNS zones mailplane created for the workspace's domains (unless a live server elsewhere uses one).
  const zoneRows = await db.select({ zoneId: servers.dnsZoneId, domain: servers.domain }).from(servers).where(eq(servers.workspaceId, ws.id));
  const zones = new Map(zoneRows.filter((r): r is { zoneId: string; domain: string } => !!r.zoneId).map((r) => [r.zoneId, r.domain]));
  for (const [zoneId, domain] of zones) {
    const [inUse] = await db
      .select({ id: servers.id })
      .from(servers)
      .where(and(eq(servers.dnsZoneId, zoneId), ne(servers.status, 'deleted')))
      .limit(1);
    if (inUse) continue;
    try {
      await deps.dns.deleteZone(zoneId, domain);
    } catch (err) {
      deps.log.warn({ err, zoneId }, 'erasure: zone deletion failed; retrying');
      throw new StillErasing(`DNS zone ${zoneId} not deleted yet`, { cause: err });
    }
  }

  // 4. The backups: every object version of every server's repository, then the buckets. The
  // moment the storage counts nothing left is when the last copy of the mail ceased to exist.
  let backupsGoneAt: string | null = null;
  if (deps.backups?.storage) {
    const serverIds = (await db.select({ id: servers.id }).from(servers).where(eq(servers.workspaceId, ws.id))).map((s) => s.id);
    for (const serverId of serverIds) {
      try {
        const gone = await deleteBackups(deps.backups, serverId);
        if (gone && (!backupsGoneAt || gone.toISOString() > backupsGoneAt)) backupsGoneAt = gone.toISOString();
      } catch (err) {
        deps.log.warn({ err, serverId }, 'erasure: backups not deleted yet; retrying');
        throw new StillErasing(`backups of server ${serverId} not deleted yet`, { cause: err });
      }
    }
  }

  // 5. Nothing left at the providers: the rows go.
  await deps.database.db.transaction(async (tx) => {
    const serverIds = (await tx.select({ id: servers.id }).from(servers).where(eq(servers.workspaceId, ws.id))).map((s) => s.id);
    // Deleting the servers deletes their runs and steps: keep what they added to the /metrics counters.
    await recordErasedServerMetrics(tx, serverIds);
    if (serverIds.length > 0) {
      await tx.delete(alerts).where(inArray(alerts.serverId, serverIds));
      await tx.delete(blacklistChecks).where(inArray(blacklistChecks.serverId, serverIds));
    }
    await tx.delete(vaultSecrets).where(eq(vaultSecrets.workspaceId, ws.id));
    // The trail of what happened stays; what it said about the workspace's data does not.
    await tx
      .update(auditLog)
      .set({ details: { erased: true }, ip: null })
      .where(eq(auditLog.workspaceId, ws.id));
    await tx.delete(workspaces).where(eq(workspaces.id, ws.id));
    await deps.alerts.resolve(tx, `erasure:${ws.id}`);
    await audit(tx, actor, { action: 'workspace.erased', workspaceId: ws.id, target: ws.id, details: { servers: serverIds.length, backupsGoneAt } });
  });
  return 'erased';
}

/** The `gdpr.erase_user` job: the account row goes once the workspaces it solely owned are gone. */
export async function eraseUser(deps: ErasureDeps, job: { userId: string }): Promise<'erased' | 'gone'> {
  const { db } = deps.database;
  const [user] = await db.select({ id: users.id }).from(users).where(eq(users.id, job.userId));
  if (!user) return 'gone';
  const pending = await db.select({ workspaceId: memberships.workspaceId }).from(memberships).where(eq(memberships.userId, user.id));
  if (pending.length > 0) throw new StillErasing(`waits for ${pending.length} workspace(s) to be erased first`);
  await db.transaction(async (tx) => {
    await tx.delete(users).where(eq(users.id, user.id));
    await audit(tx, { ...SYSTEM_ACTOR, id: 'gdpr-erasure' }, { action: 'user.erased', target: user.id });
  });
  return 'erased';
}

/**
 * An erasure whose retries are spent (the `gdpr.erase_workspace_stuck` / `gdpr.erase_user_stuck`
 * jobs): ops are told why it waits (a workspace's erasure; one open alert however often it comes
 * back) and the erasure starts over with a fresh retry budget. Starting over is the one re-enqueue
 * left here: the erasure is owed, and the failed job is over, so nothing else would run it again.
 */
export async function erasureStuck(
  deps: Pick<ErasureDeps, 'database' | 'queue' | 'alerts' | 'log'>,
  job: { workspaceId: string } | { userId: string },
  failed: { error: string; attempts: number },
): Promise<void> {
  deps.log.warn({ ...job, attempts: failed.attempts, error: failed.error }, 'erasure still waits after its retries; starting over');
  if ('workspaceId' in job) {
    const [ws] = await deps.database.db.select({ id: workspaces.id }).from(workspaces).where(eq(workspaces.id, job.workspaceId));
    if (!ws) return;
    await deps.alerts.open(deps.database.db, {
      kind: 'erasure_stuck',
      severity: 'warning',
      serverId: null,
      dedupeKey: `erasure:${ws.id}`,
      message: `Erasure of workspace ${ws.id} is still not done after ${failed.attempts} attempts: ${failed.error}`.slice(0, 1000),
      details: { attempts: failed.attempts, error: failed.error.slice(0, 1000) },
    });
    await deps.queue.send('gdpr.erase_workspace', { workspaceId: ws.id }, { singletonKey: ws.id });
    return;
  }
  const [user] = await deps.database.db.select({ id: users.id }).from(users).where(eq(users.id, job.userId));
  if (user) await deps.queue.send('gdpr.erase_user', { userId: user.id }, { singletonKey: user.id });
}
