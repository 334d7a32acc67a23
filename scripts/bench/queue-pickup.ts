/**
 * The job queue alone, to explain the step overhead: how long pg-boss takes
 * from send() to the handler being called, with the pool size and NOTIFY
 * settings of src/jobs/queue.ts, for one handler slot and for as many slots as
 * the catalog gives provisioning.step. Every NOTIFY wakes every idle slot of
 * the queue, and each one runs the locking fetch; only one gets the job.
 */
import { PgBoss } from 'pg-boss';
import { JOB_CATALOG } from '../../src/jobs/catalog.ts';
import { median, percentile, round, sleep } from './stats.ts';

export interface QueuePickupResult {
  samples: number;
  /** send() called (the insert and its NOTIFY included) → handler called, by handler slots (localConcurrency). */
  bySlots: { slots: number; medianMs: number; p95Ms: number }[];
}

export async function benchQueuePickup(databaseUrl: string, samples: number): Promise<QueuePickupResult> {
  const boss = new PgBoss({ connectionString: databaseUrl, schema: 'pickup', max: 10, useListenNotify: true, supervise: false, schedule: false });
  boss.on('error', () => {});
  await boss.start();
  try {
    const slotCounts = [1, JOB_CATALOG['provisioning.step'].concurrency];
    const bySlots: QueuePickupResult['bySlots'] = [];
    for (const slots of slotCounts) {
      const name = `pickup-${slots}`;
      await boss.createQueue(name, { notify: true });
      let arrived: (() => void) | null = null;
      await boss.work(name, { localConcurrency: slots, batchSize: 1, pollingIntervalSeconds: 1, notifyPollingIntervalSeconds: 1 }, async () => {
        arrived?.();
      });
      await sleep(1_500); // every slot has made its first (empty) fetch and is waiting
      const times: number[] = [];
      for (let i = 0; i < samples; i++) {
        const handled = new Promise<void>((resolve) => {
          arrived = resolve;
        });
        const sent = performance.now();
        await boss.send(name, { i });
        await handled;
        times.push(performance.now() - sent);
        await sleep(20);
      }
      await boss.offWork(name);
      bySlots.push({ slots, medianMs: round(median(times), 1), p95Ms: round(percentile(times, 95), 1) });
    }
    return { samples, bySlots };
  } finally {
    await boss.stop({ graceful: false });
  }
}
