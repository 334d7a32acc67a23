/**
 * What the ops services (monitoring, alert delivery, reconciliation, metrics,
 * rotation) receive. Built by the composition root (opsDeps in app-context.ts);
 * tests can build it by hand.
 */
import type { AlertSink } from '../../provisioning/alerts.ts';
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
