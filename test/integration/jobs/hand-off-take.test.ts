/**
 * A hand-off slot's handler takes the job it enqueues in the same transaction
 * (JobQueue.sendManyAndTake, as the engine's success does for a step's dependent): pg-boss's own
 * fetch pipelined behind the insert, committed with it, and run next by the same slot with no
 * fetch after the commit. On a real pg-boss and the test database; the jobs' rows are read from
 * pgboss.job. A rolled-back transaction takes nothing.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobQueue, type TakenJob } from '../../../src/jobs/queue.ts';
import { createLogger } from '../../../src/log.ts';
import { createTestDatabase, type TestDatabase } from '../../support/db.ts';
import { jobRow } from '../../support/job-retries.ts';
import { until } from '../../support/until.ts';

let database: TestDatabase;
let queue: JobQueue;
const log = createLogger({ level: 'silent', pretty: false, destination: { write: () => {} } });

/** What the handler does for a step (by name), and what every job saw. */
const plans = new Map<string, () => Promise<void>>();
const seen: { step: string; runId: string; retryCount: number }[] = [];

class Rollback extends Error {}

beforeAll(async () => {
  database = await createTestDatabase();
  queue = await JobQueue.start({ url: database.url, log, worker: true, sql: database.sql });
  await queue.work('provisioning.step', async (data, job) => {
    seen.push({ ...data, retryCount: job.retryCount });
    await plans.get(`${data.runId}:${data.step}`)?.();
  });
});

afterAll(async () => {
  await queue?.stop({ graceful: false });
  await database?.close();
});

const stepJob = (runId: string, step: string) => jobRow(database.sql, 'provisioning.step', { singletonKey: `${runId}:${step}` });
const ranOf = (runId: string, step: string) => seen.filter((s) => s.runId === runId && s.step === step).length;

describe('a hand-off slot takes the job its handler enqueues', () => {
  it('in the same transaction: active when it commits, before any other slot could fetch it, and run once by that slot', async () => {
    const runId = randomUUID();
    let stateAtCommit: string | undefined;
    let takenId: string | undefined;
    plans.set(`${runId}:first`, async () => {
      const taken = await database.sql.begin(async (tx) => {
        const t = await queue.sendManyAndTake('provisioning.step', [{ data: { runId, step: 'second' }, singletonKey: `${runId}:second` }], tx);
        // Nobody else sees it before the commit.
        expect(await stepJob(runId, 'second')).toBeNull();
        return t;
      });
      takenId = taken?.job.id;
      // Committed already taken (active) by this slot: no idle slot, woken or polling, could fetch it.
      stateAtCommit = (await stepJob(runId, 'second'))?.state;
      queue.carry(taken);
    });
    await queue.send('provisioning.step', { runId, step: 'first' }, { singletonKey: `${runId}:first` });
    await until('the carried job completed', async () => (await stepJob(runId, 'second'))?.state === 'completed', 30_000, 20);
    expect(takenId).toBe((await stepJob(runId, 'second'))?.id);
    expect(stateAtCommit).toBe('active');
    expect(ranOf(runId, 'second')).toBe(1);
    expect(seen.find((s) => s.runId === runId && s.step === 'second')?.retryCount).toBe(0);
    expect((await stepJob(runId, 'first'))?.state).toBe('completed');
  });

  it('takes nothing when its transaction rolls back: the job it took inside is undone with the insert, and never runs', async () => {
    const runId = randomUUID();
    let rolledBack: TakenJob | null | 'unset' = 'unset';
    plans.set(`${runId}:first`, async () => {
      let inside: TakenJob | null = null;
      await expect(
        database.sql.begin(async (tx) => {
          inside = await queue.sendManyAndTake('provisioning.step', [{ data: { runId, step: 'never' }, singletonKey: `${runId}:never` }], tx);
          throw new Rollback();
        }),
      ).rejects.toBeInstanceOf(Rollback);
      rolledBack = inside;
    });
    await queue.send('provisioning.step', { runId, step: 'first' }, { singletonKey: `${runId}:first` });
    await until('the first job completed', async () => (await stepJob(runId, 'first'))?.state === 'completed', 30_000, 20);
    // It did take a job inside (so the test sees the rollback undo it), and that job is gone with the insert.
    expect(rolledBack).not.toBe('unset');
    expect(rolledBack).not.toBeNull();
    expect(await stepJob(runId, 'never')).toBeNull();
    expect(ranOf(runId, 'never')).toBe(0);
  });

  it('outside a hand-off slot it only enqueues (nothing is taken), and carry(null) is a no-op', async () => {
    const runId = randomUUID();
    const taken = await database.sql.begin((tx) =>
      queue.sendManyAndTake('provisioning.step', [{ data: { runId, step: 'alone' }, singletonKey: `${runId}:alone` }], tx),
    );
    expect(taken).toBeNull();
    queue.carry(taken);
    await until('the job ran', async () => ranOf(runId, 'alone') === 1, 30_000, 20);
  });
});
