/**
 * The queues whose retries used to be written by hand, on a real pg-boss with the product's workers
 * (startHarness): a failing handler is retried as the catalog says, with growing delays read from
 * the job's rows (each retry made due at once instead of waited out: test/support/job-retries.ts),
 * and the final failure writes what it must (a mailbox marked failed, an alert). The alert
 * delivery's walk is in test/integration/ops/alert-email.test.ts.
 */
import { and, eq, isNull } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alerts, mailboxes, provisioningRuns, servers, workspaces } from '../../../src/db/schema/index.ts';
import { JOB_CATALOG } from '../../../src/jobs/catalog.ts';
import { dovecotPasswordHash } from '../../../src/mailboxes/credentials.ts';
import { expectedDelay, jobRow, walkRetries, type Retry } from '../../support/job-retries.ts';
import { startHarness, type Harness } from '../../support/provisioning.ts';
import { until } from '../../support/until.ts';

let h: Harness;
let workspaceId: string;

beforeAll(async () => {
  // Supervision every second: pg-boss finds an expired job at once (the hung backup below).
  h = await startHarness({ env: { JOBS_SUPERVISE_SECONDS: '1' } });
  const [ws] = await h.database.db.insert(workspaces).values({ name: 'retry policies' }).returning();
  workspaceId = ws!.id;
});
afterAll(async () => h?.close());

/**
 * A server no SSH session can reach yet (no IPv4: SshUnreachableError, retryable). Suspended, so
 * the sweeps (health, backups) leave it alone; a suspended server's mailboxes still sync.
 */
async function unreachableServer(workspace = workspaceId, status: 'suspended' | 'deprovisioning' = 'suspended'): Promise<string> {
  const [server] = await h.database.db
    .insert(servers)
    .values({
      workspaceId: workspace,
      planId: 'starter',
      zone: 'fr-par-1',
      domain: `r${Math.random().toString(36).slice(2, 10)}.example`,
      hostname: 'mail.retry.example',
      status,
      sshHostKeyFingerprint: 'SHA256:pinned-but-never-reached',
    })
    .returning();
  return server!.id;
}

/** Every retry's delay fits pg-boss's backoff under the queue's policy, and each waits longer than the one before could. */
function expectGrowingDelays(queue: { retry_delay: number; retry_delay_max: number | null }, retries: Retry[]): void {
  retries.forEach((r, i) => {
    const bounds = expectedDelay(queue, r.retryCount);
    expect(r.retryCount).toBe(i);
    expect(r.atMost).toBeGreaterThanOrEqual(bounds.min);
    expect(r.atLeast).toBeLessThanOrEqual(bounds.max);
    // Below the cap, this retry's shortest possible delay is the previous one's longest.
    if (i > 0 && bounds.min < (queue.retry_delay_max ?? Infinity)) expect(r.atMost).toBeGreaterThanOrEqual(expectedDelay(queue, i - 1).max);
  });
}

const policyOf = (name: keyof typeof JOB_CATALOG) => {
  const q = JOB_CATALOG[name].queue as { retryLimit?: number; retryDelay?: number; retryBackoff?: boolean; retryDelayMax?: number; deadLetter?: string };
  return [q.retryLimit, q.retryDelay, q.retryBackoff ?? false, q.retryDelayMax ?? null, q.deadLetter ?? null];
};

describe('retry policies in the job catalog', () => {
  it('mailboxes.sync: retried 5 times with growing delays, then the mailboxes are marked failed with the reason', async () => {
    const serverId = await unreachableServer();
    const [mailbox] = await h.database.db
      .insert(mailboxes)
      .values({
        workspaceId,
        serverId,
        localPart: 'ann',
        address: 'ann@retry.example',
        quotaMb: 1024,
        passwordHash: await dovecotPasswordHash('a mailbox password'),
      })
      .returning();
    await h.ctx.queue.send('mailboxes.sync', { serverId }, { singletonKey: serverId });
    const job = await until('the sync job', () => jobRow(h.database.sql, 'mailboxes.sync', { singletonKey: serverId }));
    expect([job.retry_limit, job.retry_delay, job.retry_backoff, job.retry_delay_max, job.dead_letter]).toEqual(policyOf('mailboxes.sync'));

    const { retries, final } = await walkRetries(h.database.sql, 'mailboxes.sync', job.id);
    expect(retries).toHaveLength(5);
    expectGrowingDelays(job, retries);
    expect(final.state).toBe('failed');
    // Between attempts the mailbox waits (pending, with the reason); after the last it is failed.
    const failed = await until('the mailbox to be marked failed', async () => {
      const [row] = await h.database.db.select().from(mailboxes).where(eq(mailboxes.id, mailbox!.id));
      return row?.syncStatus === 'failed' ? row : null;
    });
    expect(failed.syncError).toMatch(/no IPv4/);
  });

  it('gdpr.erase_workspace: retried while its servers are still being deprovisioned, then ops are alerted and the erasure starts over', async () => {
    const [ws] = await h.database.db.insert(workspaces).values({ name: 'erasing', erasureRequestedAt: new Date() }).returning();
    const serverId = await unreachableServer(ws!.id, 'deprovisioning');
    // A deprovision that never ends (no job drives it): the erasure waits on it.
    await h.database.db.insert(provisioningRuns).values({ serverId, kind: 'deprovision', status: 'running' });
    await h.ctx.queue.send('gdpr.erase_workspace', { workspaceId: ws!.id }, { singletonKey: ws!.id });
    const job = await until('the erasure job', () => jobRow(h.database.sql, 'gdpr.erase_workspace', { singletonKey: ws!.id }));
    expect([job.retry_limit, job.retry_delay, job.retry_backoff, job.retry_delay_max, job.dead_letter]).toEqual(policyOf('gdpr.erase_workspace'));

    // The first retries reach the 5 s cap; the ones after them are alike, so the walk skips to the last.
    const { retries, final } = await walkRetries(h.database.sql, 'gdpr.erase_workspace', job.id, { fastForwardFrom: 3 });
    expectGrowingDelays(job, retries.slice(0, 4));
    expect(retries.slice(0, 4).map((r) => r.retryCount)).toEqual([0, 1, 2, 3]);
    expect(retries.at(-1)!.atLeast).toBeLessThanOrEqual(5);
    expect(final.state).toBe('failed');

    const alert = await until('the erasure_stuck alert', async () => {
      const [row] = await h.database.db
        .select()
        .from(alerts)
        .where(and(eq(alerts.dedupeKey, `erasure:${ws!.id}`), isNull(alerts.resolvedAt)));
      return row ?? null;
    });
    expect([alert.kind, alert.severity]).toEqual(['erasure_stuck', 'warning']);
    expect(alert.message).toMatch(/after 300 attempts: waits for 1 server\(s\) to be deprovisioned/);
    // Owed, so never dropped: a new erasure job with a fresh retry budget.
    const again = await until('the erasure to start over', async () => {
      const row = await jobRow(h.database.sql, 'gdpr.erase_workspace', { singletonKey: ws!.id });
      return row && row.id !== job.id ? row : null;
    });
    expect(['created', 'active', 'retry']).toContain(again.state);
  });

  it('backups.run: retried 3 times with growing delays (5 minutes, doubling), then a backup_failed alert', async () => {
    const serverId = await unreachableServer();
    await h.ctx.queue.send('backups.run', { serverId, reason: 'manual' }, { singletonKey: `${serverId}:manual` });
    const job = await until('the backup job', () => jobRow(h.database.sql, 'backups.run', { singletonKey: `${serverId}:manual` }));
    expect([job.retry_limit, job.retry_delay, job.retry_backoff, job.retry_delay_max, job.dead_letter]).toEqual(policyOf('backups.run'));

    const { retries, final } = await walkRetries(h.database.sql, 'backups.run', job.id);
    expect(retries).toHaveLength(3);
    expectGrowingDelays(job, retries);
    expect(final.state).toBe('failed');
    const alert = await until('the backup_failed alert', async () => {
      const [row] = await h.database.db
        .select()
        .from(alerts)
        .where(and(eq(alerts.serverId, serverId), eq(alerts.kind, 'backup_failed')));
      return row ?? null;
    });
    expect(alert.message).toMatch(/backup failed after its retries/);
  });

  it('backups.run: a last attempt that never ends (expired by pg-boss) still opens the backup_failed alert', async () => {
    const serverId = await unreachableServer();
    // Not due for an hour, so no worker takes it: the test puts it where a hung last attempt leaves it.
    await h.ctx.queue.send('backups.run', { serverId, reason: 'daily' }, { singletonKey: `${serverId}:hung`, startAfterSeconds: 3600 });
    const job = await until('the backup job', () => jobRow(h.database.sql, 'backups.run', { singletonKey: `${serverId}:hung` }));
    // Its last attempt, started two hours ago by a worker that hangs (expireInSeconds is one hour).
    await h.database.sql`update pgboss.job set state = 'active', retry_count = retry_limit, start_after = now() - interval '2 hours',
      started_on = now() - interval '2 hours' where id = ${job.id}`;
    const alert = await until('the backup_failed alert', async () => {
      const [row] = await h.database.db
        .select()
        .from(alerts)
        .where(and(eq(alerts.serverId, serverId), eq(alerts.kind, 'backup_failed')));
      return row ?? null;
    });
    expect(alert.message).toMatch(/job timed out/);
  });
});
