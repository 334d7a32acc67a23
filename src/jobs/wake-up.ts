/**
 * Targeted wake-ups for hand-off queues (the provisioning steps). pg-boss's own NOTIFY wakes every
 * idle handler slot of a queue in every process for each job, and each of them runs the locking
 * fetch: with 16 slots, 16 fetches (15 of them empty) for one job, on the critical path of every
 * step. For a queue marked handOff, pg-boss's notify is off and the sender says instead how many
 * jobs it queued (`mailplane_jobs`, `<queue>:<n>`, in its transaction, so it is heard only when they
 * commit); each process wakes that many of its idle slots, no more. Delayed jobs, retries and any
 * notification missed are found by the slots' regular polling, as before.
 */
import type { Db as JobDb, PgBoss } from 'pg-boss';
import type postgres from 'postgres';

export const JOBS_CHANNEL = 'mailplane_jobs';

/** The NOTIFY a sender adds in its own transaction (or alone, autocommitted), on whatever pg-boss sends its jobs through. */
export async function announceJobs(db: JobDb, name: string, count: number): Promise<void> {
  if (count > 0) await db.executeSql('select pg_notify($1, $2)', [JOBS_CHANNEL, `${name}:${count}`]);
}

/** Wakes up to `count` idle slots of the queue in this process. */
export function wakeIdleSlots(boss: PgBoss, name: string, count: number): void {
  let left = count;
  for (const worker of boss.getWipData()) {
    if (left <= 0) return;
    if (worker.name !== name || worker.count > 0 || worker.state !== 'active') continue;
    boss.notifyWorker(worker.id);
    left--;
  }
}

/** LISTENs for announcements and wakes slots for them; the listener is postgres.js's (it re-listens after a reconnect). */
export async function listenForJobs(sql: postgres.Sql, boss: PgBoss): Promise<{ close(): Promise<void> }> {
  const handle = await sql.listen(JOBS_CHANNEL, (payload) => {
    const at = payload.lastIndexOf(':');
    const count = Number(payload.slice(at + 1));
    if (at > 0 && Number.isInteger(count) && count > 0) wakeIdleSlots(boss, payload.slice(0, at), count);
  });
  return { close: async () => void (await handle.unlisten().catch(() => {})) };
}
