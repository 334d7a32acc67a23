/**
 * Every failure of a Stripe API call becomes a ProviderError here, in one
 * place. The SDK throws StripeError subclasses carrying the HTTP status, the
 * response headers (lower-cased, so a 429's Retry-After survives) and Stripe's
 * error `type`/`code`; connection failures and timeouts both arrive as
 * StripeConnectionError, told apart by the underlying error's ETIMEDOUT code.
 */
import Stripe from 'stripe';
import { ProviderError, parseRetryAfter } from '../../errors.ts';
import { systemClock } from '../../clock.ts';

export const PROVIDER = 'stripe';

const { StripeConnectionError, StripeError } = Stripe.errors;

function describe(err: InstanceType<typeof StripeError>): string {
  const code = err.code ? ` (${err.code})` : '';
  return `${err.message}${code}`;
}

function isTimeout(err: InstanceType<typeof StripeError>): boolean {
  const detail = err.detail as { code?: unknown } | undefined;
  return detail?.code === 'ETIMEDOUT';
}

/** Stripe's `code` on an API error (e.g. resource_missing), looking through a ProviderError. */
export function stripeCode(err: unknown): string | undefined {
  if (err instanceof ProviderError) return stripeCode(err.cause);
  return err instanceof StripeError ? err.code : undefined;
}

/** Maps anything thrown by the SDK to a ProviderError; other errors (bugs) pass through unchanged. */
export function toProviderError(err: unknown, now = systemClock.now()): unknown {
  if (err instanceof ProviderError || !(err instanceof StripeError)) return err;
  if (err instanceof StripeConnectionError) {
    if (isTimeout(err)) {
      return new ProviderError({ provider: PROVIDER, detail: err.message, retryable: true, code: 'provider_timeout', cause: err });
    }
    const detail = err.detail as { message?: string; cause?: { code?: string } } | undefined;
    const why = detail?.cause?.code ?? detail?.message ?? err.message;
    return new ProviderError({ provider: PROVIDER, detail: `network error: ${why}`, retryable: true, code: 'provider_unreachable', cause: err });
  }
  const status = err.statusCode;
  if (typeof status !== 'number') {
    return new ProviderError({ provider: PROVIDER, detail: describe(err), retryable: false, cause: err });
  }
  const retryAfterMs = parseRetryAfter(err.headers?.['retry-after'], now);
  const mapped = ProviderError.fromHttpStatus(PROVIDER, status, describe(err), retryAfterMs, err);
  // Stripe answers 409 when a concurrent request holds the same idempotency key
  // or an object lock; its docs (and the SDK's own retry logic) say retry it.
  if (status === 409) {
    return new ProviderError({ provider: PROVIDER, detail: mapped.detail ?? describe(err), providerStatus: 409, retryable: true, cause: err });
  }
  return mapped;
}

/** Runs one SDK call and rethrows its failure as a ProviderError. */
export async function stripeCall<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw toProviderError(err);
  }
}
