/**
 * The one error hierarchy. Every error that crosses a boundary (HTTP, job,
 * provider) is an AppError: it carries a stable machine code, the HTTP status
 * it maps to, and whether retrying the same operation can succeed. Workers read
 * `retryable` from the error instead of guessing from messages.
 */
import { systemClock } from './clock.ts';

export interface AppErrorOptions {
  code: string;
  status: number;
  title: string;
  detail?: string;
  retryable?: boolean;
  /** When the failing party told us how long to wait (429 Retry-After). */
  retryAfterMs?: number;
  /** Extra members added to the problem+json body (never secrets). */
  extensions?: Record<string, unknown>;
  cause?: unknown;
}

export class AppError extends Error {
  readonly code: string;
  readonly status: number;
  readonly title: string;
  readonly detail: string | undefined;
  readonly retryable: boolean;
  readonly retryAfterMs: number | undefined;
  readonly extensions: Record<string, unknown> | undefined;

  constructor(opts: AppErrorOptions) {
    super(opts.detail ?? opts.title, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.code = opts.code;
    this.status = opts.status;
    this.title = opts.title;
    this.detail = opts.detail;
    this.retryable = opts.retryable ?? false;
    this.retryAfterMs = opts.retryAfterMs;
    this.extensions = opts.extensions;
  }
}

export class ValidationError extends AppError {
  constructor(detail: string, extensions?: Record<string, unknown>) {
    super({ code: 'validation_failed', status: 400, title: 'Invalid request', detail, extensions });
  }
}

export class UnauthorizedError extends AppError {
  constructor(detail = 'Authentication required') {
    super({ code: 'unauthorized', status: 401, title: 'Unauthorized', detail });
  }
}

export class ForbiddenError extends AppError {
  constructor(detail = 'You are not allowed to do this') {
    super({ code: 'forbidden', status: 403, title: 'Forbidden', detail });
  }
}

/** Staff, and members of a workspace that requires it, must set up a second factor first. */
export class TwoFactorRequiredError extends AppError {
  constructor(detail: string) {
    super({ code: 'two_factor_required', status: 403, title: 'Two-factor sign-in required', detail });
  }
}

export class NotFoundError extends AppError {
  constructor(what = 'Resource') {
    super({ code: 'not_found', status: 404, title: 'Not found', detail: `${what} not found` });
  }
}

export class ConflictError extends AppError {
  constructor(detail: string, code = 'conflict') {
    super({ code, status: 409, title: 'Conflict', detail });
  }
}

export class RateLimitedError extends AppError {
  constructor(retryAfterMs: number, detail = 'Too many requests') {
    super({ code: 'rate_limited', status: 429, title: 'Too many requests', detail, retryable: true, retryAfterMs });
  }
}

/**
 * A call to an outside provider failed. `retryable` follows the provider's
 * answer: 429, 5xx, timeouts and connection failures are retryable; other 4xx
 * are not (retrying a 403 only burns time and quota).
 */
export class ProviderError extends AppError {
  readonly provider: string;
  readonly providerStatus: number | undefined;

  constructor(opts: {
    provider: string;
    detail: string;
    providerStatus?: number;
    retryable: boolean;
    retryAfterMs?: number;
    code?: string;
    cause?: unknown;
  }) {
    super({
      code: opts.code ?? 'provider_error',
      status: 502,
      title: `${opts.provider} request failed`,
      detail: opts.detail,
      retryable: opts.retryable,
      retryAfterMs: opts.retryAfterMs,
      cause: opts.cause,
    });
    this.provider = opts.provider;
    this.providerStatus = opts.providerStatus;
  }

  /** The usual mapping from an HTTP status to a ProviderError. */
  static fromHttpStatus(provider: string, status: number, detail: string, retryAfterMs?: number, cause?: unknown): ProviderError {
    const retryable = status === 429 || status === 408 || status >= 500;
    return new ProviderError({ provider, detail: `${status}: ${detail}`, providerStatus: status, retryable, retryAfterMs, cause });
  }
}

/** Parses a Retry-After header (seconds or HTTP date) into milliseconds. */
export function parseRetryAfter(value: string | null | undefined, now = systemClock.now()): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.round(seconds * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

export function isRetryable(err: unknown): boolean {
  return err instanceof AppError ? err.retryable : false;
}
