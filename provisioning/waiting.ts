/**
 * Waits that belong to people, not to retries: a customer who has not moved
 * their nameservers yet, a provider account whose outbound SMTP is still
 * blocked. A step says so by throwing WaitingError; the engine then parks the
 * step as `waiting` (the server as `waiting`, with what to do), re-checks it
 * after `recheckMs` for as long as it takes, and never counts those checks as
 * attempts. When the step finally succeeds the run continues by itself.
 */
import { AppError } from '../src/errors.ts';
import type { AlertInput } from './alerts.ts';

export interface WaitReason {
  code: string;
  party: 'customer' | 'ops';
  message: string;
  action: string;
  /** When to look again. */
  recheckMs: number;
  details?: Record<string, unknown>;
  /** An ops alert held open while waiting (resolved when the wait is over). */
  alert?: Omit<AlertInput, 'serverId'>;
}

export class WaitingError extends AppError {
  readonly wait: WaitReason;

  constructor(wait: WaitReason) {
    // Not a failure: retryable in spirit, but the engine never spends an attempt on it.
    super({ code: `waiting_${wait.code}`, status: 409, title: 'Waiting', detail: wait.message, retryable: true });
    this.wait = wait;
  }
}
