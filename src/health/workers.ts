/** Registers the health-check jobs and the minute sweep on a worker process. */
import type { JobQueue } from '../jobs/queue.ts';
import { sendServerNotices, type NoticeDeps } from '../mail/server-notices.ts';
import type { HealthDeps } from './deps.ts';
import { runServerChecks } from './run-checks.ts';
import { sweepHealth } from './sweep.ts';

export async function registerHealthWorkers(deps: HealthDeps, queue: JobQueue): Promise<void> {
  const notices: NoticeDeps = { db: deps.db, mailer: deps.mailer, log: deps.log, publicUrl: deps.publicUrl };
  await queue.work('health.check_server', async (data) => void (await runServerChecks(deps, data.serverId)));
  await queue.work('health.sweep', async () => {
    await sweepHealth(deps, queue);
    await sendServerNotices(notices);
  });
  await queue.schedule('health.sweep', '* * * * *', {});
}
