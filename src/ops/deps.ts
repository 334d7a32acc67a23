/**
 * What the ops services (monitoring, alert delivery, reconciliation, metrics,
 * rotation) receive. Built from the composition root's AppContext; tests can
 * build it by hand.
 */
import type { AlertSink } from '../../provisioning/alerts.ts';
import type { AppContext } from '../app-context.ts';
import type { Clock } from '../clock.ts';
import type { Config } from '../config.ts';
import type { Database } from '../db/client.ts';
import type { JobQueue } from '../jobs/queue.ts';
import type { Logger } from '../log.ts';
import type { ComputeProvider } from '../providers/compute/interface.ts';
import type { BlacklistChecker } from '../providers/lookup/interface.ts';

export type OpsSettings = Config['ops'];

export interface OpsDeps {
  database: Database;
  queue: JobQueue;
  compute: ComputeProvider;
  dnsbl: BlacklistChecker;
  alerts: AlertSink;
  clock: Clock;
  log: Logger;
  settings: OpsSettings;
}

export function opsDeps(ctx: AppContext): OpsDeps {
  return {
    database: ctx.database, queue: ctx.queue, compute: ctx.providers.compute, dnsbl: ctx.providers.dnsbl,
    alerts: ctx.alerts, clock: ctx.clock, log: ctx.log, settings: ctx.config.ops,
  };
}
