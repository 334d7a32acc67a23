/**
 * Every failure of a Cloudflare call becomes a ProviderError here, in one
 * place. The SDK throws APIError subclasses that keep the HTTP status, the
 * response headers (so a 429's Retry-After survives) and the `errors` array of
 * Cloudflare's envelope; connection failures and timeouts come as
 * APIConnectionError / APIConnectionTimeoutError without a status.
 */
import { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'cloudflare';
import { ProviderError, parseRetryAfter } from '../../errors.ts';
import { systemClock } from '../../clock.ts';

export const PROVIDER = 'cloudflare';

/** Cloudflare error codes mailplane reacts to. */
export const CF_CODES = {
  zoneAlreadyExists: 1061,
  identicalRecordExists: 81058,
  /** The same refusal as Cloudflare coded it until 2023 ("Record already exists."), still accepted. */
  recordAlreadyExists: 81057,
  recordNotFound: 81044,
  /** "You have exceeded the limit of pending zones": too many zones of the account wait for their nameservers. */
  pendingZoneLimit: 1118,
} as const;

function describe(err: APIError): string {
  const parts = err.errors.map((e) => `${e.message} (code ${e.code})`);
  if (parts.length > 0) return parts.join('; ');
  return err.message;
}

export function cloudflareCodes(err: unknown): number[] {
  if (err instanceof ProviderError) return cloudflareCodes(err.cause);
  return err instanceof APIError ? err.errors.map((e) => e.code).filter((c): c is number => typeof c === 'number') : [];
}

export function hasCloudflareCode(err: unknown, code: number): boolean {
  return cloudflareCodes(err).includes(code);
}

export function isNotFound(err: unknown): boolean {
  return err instanceof ProviderError && err.providerStatus === 404;
}

/** Maps anything thrown by the SDK to a ProviderError; other errors (bugs) pass through unchanged. */
export function toProviderError(err: unknown, now = systemClock.now()): unknown {
  if (err instanceof ProviderError) return err;
  if (err instanceof APIConnectionTimeoutError) {
    return new ProviderError({ provider: PROVIDER, detail: 'request timed out', retryable: true, code: 'provider_timeout', cause: err });
  }
  if (err instanceof APIUserAbortError) {
    return new ProviderError({ provider: PROVIDER, detail: 'request aborted', retryable: false, cause: err });
  }
  if (err instanceof APIConnectionError) {
    const cause = (err as { cause?: { cause?: { code?: string }; message?: string } }).cause;
    const why = cause?.cause?.code ?? cause?.message ?? err.message;
    return new ProviderError({ provider: PROVIDER, detail: `network error: ${why}`, retryable: true, code: 'provider_unreachable', cause: err });
  }
  if (err instanceof APIError && typeof err.status === 'number') {
    const retryAfterMs = parseRetryAfter(err.headers?.get('retry-after'), now);
    return ProviderError.fromHttpStatus(PROVIDER, err.status, describe(err), retryAfterMs, err);
  }
  return err;
}

/** Runs one SDK call and rethrows its failure as a ProviderError. */
export async function cloudflareCall<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw toProviderError(err);
  }
}
