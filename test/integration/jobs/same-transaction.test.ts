/**
 * A job sent in a transaction exists only if the transaction commits (STYLE.md §6): the queue
 * joins drizzle's transaction through pg-boss's `fromDrizzle` adapter, and the provisioning
 * engine's postgres.js transaction through its own prepared statements. On a real pg-boss, on the
 * test database: the job rows are read from pgboss.job, the hand-off announcements from LISTEN.
 */
import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workspaces } from '../../../src/db/schema/index.ts';
import { JobQueue } from '../../../src/jobs/queue.ts';
import { JOBS_CHANNEL } from '../../../src/jobs/wake-up.ts';
import { createLogger } from '../../../src/log.ts';
import { createTestDatabase, type TestDatabase } from '../../support/db.ts';
import { jobRow } from '../../support/job-retries.ts';
import { until } from '../../support/until.ts';

let database: TestDatabase;
let queue: JobQueue;
const log = createLogger({ level: 'silent', pretty: false, destination: { write: () => {} } });

beforeAll(async () => {
  database = await createTestDatabase();
  // Enqueue only (no workers): the jobs stay in their table for the assertions. With the pool, the
  // hand-off queue announces its jobs (src/jobs/wake-up.ts).
  queue = await JobQueue.start({ url: database.url, log, worker: false, sql: database.sql });
});

afterAll(async () => {
  await queue?.stop();
  await database?.close();
});

class Rollback extends Error {}

const job = (singletonKey: string) => jobRow(database.sql, 'mailboxes.sync', { singletonKey });
const workspaceNamed = async (name: string) => (await database.db.select().from(workspaces).where(eq(workspaces.name, name))).length;

describe('jobs sent in a drizzle transaction', () => {
  it('are not enqueued when the transaction rolls back, with the state change they belong to', async () => {
    const key = randomUUID();
    const rolledBack = database.db.transaction(async (tx) => {
      await tx.insert(workspaces).values({ name: `ws ${key}` });
      await queue.send('mailboxes.sync', { serverId: randomUUID() }, { tx, singletonKey: key });
      throw new Rollback();
    });
    await expect(rolledBack).rejects.toBeInstanceOf(Rollback);
    expect(await workspaceNamed(`ws ${key}`)).toBe(0);
    expect(await job(key)).toBeNull();
  });

  it('are enqueued when it commits, and not seen by anyone before', async () => {
    const key = randomUUID();
    await database.db.transaction(async (tx) => {
      await tx.insert(workspaces).values({ name: `ws ${key}` });
      const id = await queue.send('mailboxes.sync', { serverId: randomUUID() }, { tx, singletonKey: key });
      expect(id).toMatch(/^[0-9a-f-]{36}$/);
      // Another connection does not see the uncommitted job.
      expect(await job(key)).toBeNull();
    });
    expect(await workspaceNamed(`ws ${key}`)).toBe(1);
    expect(await job(key)).toMatchObject({ name: 'mailboxes.sync', state: 'created' });
  });

  it('a job sent outside the transaction (no tx) survives its rollback: the check above sees jobs', async () => {
    const key = randomUUID();
    const rolledBack = database.db.transaction(async () => {
      await queue.send('mailboxes.sync', { serverId: randomUUID() }, { singletonKey: key });
      throw new Rollback();
    });
    await expect(rolledBack).rejects.toBeInstanceOf(Rollback);
    expect(await job(key)).not.toBeNull();
  });

  it('sendMany: the batch is enqueued on commit and not at all on rollback', async () => {
    const committed = [randomUUID(), randomUUID()];
    const rolled = [randomUUID(), randomUUID()];
    const batch = (keys: string[]) => keys.map((k) => ({ data: { serverId: randomUUID() }, singletonKey: k }));
    await expect(
      database.db.transaction(async (tx) => {
        await queue.sendMany('mailboxes.sync', batch(rolled), { tx });
        throw new Rollback();
      }),
    ).rejects.toBeInstanceOf(Rollback);
    await database.db.transaction(async (tx) => queue.sendMany('mailboxes.sync', batch(committed), { tx }));
    for (const k of rolled) expect(await job(k)).toBeNull();
    for (const k of committed) expect(await job(k)).not.toBeNull();
  });

  it('a nested transaction (savepoint) rolled back takes its job with it, the outer one commits its own', async () => {
    const [outer, inner] = [randomUUID(), randomUUID()];
    await database.db.transaction(async (tx) => {
      await queue.send('mailboxes.sync', { serverId: randomUUID() }, { tx, singletonKey: outer });
      await expect(
        tx.transaction(async (sp) => {
          await queue.send('mailboxes.sync', { serverId: randomUUID() }, { tx: sp, singletonKey: inner });
          throw new Rollback();
        }),
      ).rejects.toBeInstanceOf(Rollback);
    });
    expect(await job(outer)).not.toBeNull();
    expect(await job(inner)).toBeNull();
  });

  it("a hand-off queue's announcement is heard only when its jobs commit", async () => {
    const heard: string[] = [];
    const listening = await database.sql.listen(JOBS_CHANNEL, (payload) => heard.push(payload));
    try {
      const runId = randomUUID();
      // Two jobs rolled back (announced as `:2`), then one committed (`:1`). Notifications arrive in
      // commit order, so had the rolled-back one been sent, it would be heard first.
      await expect(
        database.db.transaction(async (tx) => {
          await queue.sendMany(
            'provisioning.step',
            ['allocate_ips', 'generate_dkim'].map((step) => ({ data: { runId, step }, singletonKey: `${runId}:${step}:1` })),
            { tx },
          );
          throw new Rollback();
        }),
      ).rejects.toBeInstanceOf(Rollback);
      await database.db.transaction(async (tx) => {
        await queue.send('provisioning.step', { runId, step: 'allocate_ips' }, { tx, singletonKey: `${runId}:allocate_ips:2` });
      });
      await until('the committed announcement', async () => heard.length > 0);
      expect(heard).toEqual(['provisioning.step:1']);
    } finally {
      await listening.unlisten();
    }
  });
});

describe("jobs sent in the engine's postgres.js transaction", () => {
  it('are enqueued with its commit and not at all with its rollback', async () => {
    const [committed, rolled] = [randomUUID(), randomUUID()];
    await expect(
      database.sql.begin(async (raw) => {
        await queue.send('mailboxes.sync', { serverId: randomUUID() }, { tx: raw, singletonKey: rolled });
        throw new Rollback();
      }),
    ).rejects.toBeInstanceOf(Rollback);
    await database.sql.begin(async (raw) => {
      await queue.send('mailboxes.sync', { serverId: randomUUID() }, { tx: raw, singletonKey: committed });
      expect(await job(committed)).toBeNull();
    });
    expect(await job(rolled)).toBeNull();
    expect(await job(committed)).not.toBeNull();
  });
});
