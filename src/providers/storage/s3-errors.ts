/**
 * Every failure of an Object Storage (S3) call becomes a ProviderError here.
 * The AWS SDK throws S3ServiceException subclasses named by the S3 error code
 * (`AccessDenied`, `NoSuchBucket`, …) with the HTTP status in `$metadata`;
 * network failures come as the transport's error with `$metadata` but no status. Retryable follows
 * src/errors.ts: 5xx, 429, 408, SlowDown, timeouts and dropped connections
 * are; a refusal (403 AccessDenied, SignatureDoesNotMatch) is not.
 */
import { ProviderError } from '../../errors.ts';

export const PROVIDER = 'scaleway-object-storage';

interface SdkError {
  name?: string;
  message?: string;
  code?: string;
  $metadata?: { httpStatusCode?: number };
  $response?: { headers?: Record<string, string> };
}

/** The S3 error code of an SDK error (its name), or undefined for a non-S3 failure. */
export function s3Code(err: unknown): string | undefined {
  const e = err as SdkError | null;
  return e && typeof e === 'object' && e.$metadata ? e.name : undefined;
}

export function isS3Code(err: unknown, ...codes: string[]): boolean {
  if (err instanceof ProviderError) return codes.includes(err.code.replace(/^s3_/, ''));
  const code = s3Code(err);
  return code !== undefined && codes.includes(code);
}

export function toStorageError(err: unknown, what: string): ProviderError {
  if (err instanceof ProviderError) return err;
  const e = (err ?? {}) as SdkError;
  const status = e.$metadata?.httpStatusCode;
  if (status !== undefined) {
    const code = e.name ?? 'Unknown';
    // The SDK names an error it cannot parse after the status ("503" has no XML body behind a proxy).
    const retryable = status >= 500 || status === 429 || status === 408 || code === 'SlowDown';
    return new ProviderError({
      provider: PROVIDER,
      detail: `${what}: ${status} ${code}${e.message && e.message !== code ? `: ${e.message}` : ''}`,
      providerStatus: status,
      retryable,
      code: `s3_${code}`,
      cause: err,
    });
  }
  // The SDK tried (it counts attempts) and got no HTTP answer: a refused or dropped connection, a timeout.
  if (e.$metadata) {
    return new ProviderError({
      provider: PROVIDER,
      detail: `${what}: network error: ${e.code ?? e.name ?? e.message ?? 'no answer'}`,
      retryable: true,
      code: 'provider_unreachable',
      cause: err,
    });
  }
  return new ProviderError({ provider: PROVIDER, detail: `${what}: ${e.message ?? String(err)}`, retryable: false, cause: err });
}
