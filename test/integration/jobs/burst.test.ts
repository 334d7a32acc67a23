/**
 * A handler slot that has just run a job fetches the next one at once, and waits out the poll
 * interval only after a fetch found nothing. With a poll interval far longer than the test, the
 * jobs sent after the workers' first (empty) fetch can only run if the slots that ran one go on to
 * the next without waiting: a slot that ran one job per poll would finish none of the rest.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobQueue } from '../../../src/jobs/queue.ts';
import { createLogger } from '../../../src/log.ts';
import { createTestDatabase, type TestDatabase } from '../../support/db.ts';
import { until } from '../../support/until.ts';

let database: TestDatabase;
let queue: JobQueue;
const log = createLogger({ level: 'silent', pretty: false, destination: { write: () => {} } });

beforeAll(async () => {
  database = await createTestDatabase();
  queue = await JobQueue.start({ url: database.url, log, worker: true, pollSeconds: 600 });
});

afterAll(async () => {
  await queue?.stop();
  await database?.close();
});

describe('a queue with work waiting', () => {
  it('is drained by its slots one job after another, not one job per slot and poll', async () => {
    const ran: string[] = [];
    let firstFetch!: () => void;
    const started = new Promise<void>((resolve) => (firstFetch = resolve));
    // The jobs exist before the workers start, so the slots' first fetch finds them; then each slot
    // has to carry on by itself (the next poll is ten minutes away).
    const ids = Array.from({ length: 30 }, () => randomUUID());
    await queue.sendMany(
      'mailboxes.collect_usage',
      ids.map((serverId) => ({ data: { serverId }, singletonKey: serverId })),
    );
    await queue.work('mailboxes.collect_usage', async ({ serverId }) => {
      firstFetch();
      ran.push(serverId);
    });
    await started;
    await until('every job run', async () => ran.length === ids.length, 30_000);
    expect(new Set(ran)).toEqual(new Set(ids));
  }, 60_000);
});
