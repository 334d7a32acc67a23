/**
 * How a handler says "retrying will not help": it throws `GiveUp`, and the job fails for good at
 * once (pg-boss's `deadletter` result), skipping the retries its queue's policy has left and going
 * to the queue's dead letter queue, whose handler records the failure as after the last retry.
 * Any other error thrown by a handler is retried by the queue's policy (src/jobs/catalog.ts).
 */
export class GiveUp extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'GiveUp';
  }
}

/** A job that failed for good, as its dead letter queue's handler sees it. */
export interface FailedJob {
  /** The failed job's id in its own queue. */
  id: string;
  /** What the last attempt threw (pg-boss's stored output), or why pg-boss failed it (expired, heartbeat lost). */
  error: string;
  /** How many attempts were made. */
  attempts: number;
}

/** The message pg-boss stored for a failed job (`{ message, … }` for a thrown error; `{ value: { message } }` for an expiry). */
export function failureMessage(output: unknown): string {
  if (output && typeof output === 'object') {
    const o = output as { message?: unknown; value?: unknown };
    if (typeof o.message === 'string') return o.message;
    if (o.value !== undefined) return failureMessage(o.value);
  }
  return typeof output === 'string' ? output : 'failed';
}
