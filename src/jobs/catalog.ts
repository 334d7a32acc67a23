/**
 * The typed job catalog: every queue, its payload schema and its queue options.
 * Payloads are validated when a job is picked up, so a malformed job fails
 * loudly instead of half-running.
 *
 * Retries: domain handlers decide retry/backoff themselves (they know whether an
 * error is retryable). pg-boss's own retries exist for one case only: a worker
 * that died mid-job (heartbeat lost), whose job must run again elsewhere.
 */
import { z } from 'zod';
import type { QueueOptions } from 'pg-boss';

export interface JobDefinition<S extends z.ZodType> {
  schema: S;
  queue: QueueOptions & { heartbeatSeconds?: number; notify?: boolean };
  /** Handler concurrency per worker process. */
  concurrency: number;
}

const define = <S extends z.ZodType>(d: JobDefinition<S>) => d;

export const JOB_CATALOG = {
  /** Housekeeping: expired sessions and invitations. Scheduled hourly. */
  'maintenance.cleanup': define({
    schema: z.object({}).passthrough(),
    queue: { retryLimit: 1, expireInSeconds: 300 },
    concurrency: 1,
  }),
  /** One attempt of one provisioning step (provisioning/engine.ts). */
  'provisioning.step': define({
    schema: z.object({ runId: z.uuid(), step: z.string().regex(/^[a-z_]{1,40}$/) }),
    // retryLimit only covers dead workers (heartbeat lost); failures are retried by the engine.
    queue: { retryLimit: 5, retryDelay: 1, expireInSeconds: 1800, heartbeatSeconds: 15, notify: true },
    concurrency: 16,
  }),
} as const;

export type JobName = keyof typeof JOB_CATALOG;
export type JobData<N extends JobName> = z.infer<(typeof JOB_CATALOG)[N]['schema']>;
