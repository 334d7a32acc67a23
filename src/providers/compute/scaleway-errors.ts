/**
 * Every failure of a Scaleway call becomes a ProviderError here, in one place.
 *
 * The SDK's own errors (ScalewayError and subclasses) carry the status and the
 * JSON body but drop the response headers, so a 429's Retry-After would be
 * lost. We therefore hand the SDK an HTTP client that turns non-2xx responses
 * and network failures into ProviderErrors itself; the SDK rethrows errors
 * from its HTTP client unchanged.
 */
import { ProviderError, parseRetryAfter } from '../../errors.ts';
import { systemClock } from '../../clock.ts';

export const PROVIDER = 'scaleway';

/** Scaleway's error body: `{ message, type, resource?, resource_id?, help_message? }`. */
function describeBody(body: unknown, fallback: string): string {
  if (body && typeof body === 'object') {
    const b = body as Record<string, unknown>;
    const parts = [b['type'], b['message'], b['help_message']].filter((p): p is string => typeof p === 'string' && p !== '');
    if (typeof b['resource'] === 'string') parts.push(`resource ${b['resource']}${typeof b['resource_id'] === 'string' ? ` ${b['resource_id']}` : ''}`);
    // invalid_arguments says what is wrong per argument in `details`.
    if (Array.isArray(b['details'])) {
      for (const d of b['details'] as unknown[]) {
        const { argument_name: arg, help_message: help } = (d ?? {}) as { argument_name?: unknown; help_message?: unknown };
        if (typeof arg === 'string' && typeof help === 'string') parts.push(`${arg}: ${help}`);
      }
    }
    if (parts.length > 0) return parts.join(': ');
  }
  if (typeof body === 'string' && body.trim() !== '') return body.trim().slice(0, 500);
  return fallback;
}

/**
 * `400 invalid_arguments` on `reverse` with "Your reverse must resolve": Scaleway's
 * resolver cannot see the forward A/AAAA yet. It is a wait (propagation, a zone not
 * yet active), not a bad request: asking again later succeeds.
 */
export function isReverseNotResolving(body: unknown): boolean {
  if (!body || typeof body !== 'object') return false;
  const details = (body as { details?: unknown }).details;
  if (!Array.isArray(details)) return false;
  return details.some((d: unknown) => {
    if (!d || typeof d !== 'object') return false;
    const { argument_name: arg, help_message: help } = d as { argument_name?: unknown; help_message?: unknown };
    return typeof arg === 'string' && arg.startsWith('reverse') && typeof help === 'string' && /must resolve/i.test(help);
  });
}

export async function errorFromResponse(res: Response, now = systemClock.now()): Promise<ProviderError> {
  const text = await res.text().catch(() => '');
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // Proxies in front of the API answer HTML or plain text; keep it as is.
  }
  const retryAfterMs = parseRetryAfter(res.headers.get('retry-after'), now);
  const detail = describeBody(body, res.statusText || 'request failed');
  if (res.status === 400 && isReverseNotResolving(body)) {
    return new ProviderError({
      provider: PROVIDER,
      detail: `${res.status}: ${detail}`,
      providerStatus: res.status,
      retryable: true,
      code: 'reverse_not_resolving',
      cause: body,
    });
  }
  return ProviderError.fromHttpStatus(PROVIDER, res.status, detail, retryAfterMs, body);
}

function isAbort(err: unknown): boolean {
  return err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError');
}

/** Maps anything thrown by the SDK or the network to a ProviderError. */
export function toProviderError(err: unknown): ProviderError {
  if (err instanceof ProviderError) return err;
  if (isAbort(err)) {
    return new ProviderError({ provider: PROVIDER, detail: 'request timed out', retryable: true, code: 'provider_timeout', cause: err });
  }
  // SDK errors that did not come through our HTTP client (e.g. an unparsable 2xx body).
  if (err instanceof Error && 'status' in err && typeof (err as { status: unknown }).status === 'number') {
    const status = (err as unknown as { status: number }).status;
    return ProviderError.fromHttpStatus(PROVIDER, status, err.message, undefined, err);
  }
  // fetch rejects with a TypeError on DNS, connection refused/reset, TLS failures.
  if (err instanceof TypeError) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    const why = cause?.code ?? cause?.message ?? err.message;
    return new ProviderError({ provider: PROVIDER, detail: `network error: ${why}`, retryable: true, code: 'provider_unreachable', cause: err });
  }
  const detail = err instanceof Error ? err.message : String(err);
  return new ProviderError({ provider: PROVIDER, detail, retryable: false, cause: err });
}

export function isNotFound(err: unknown): boolean {
  return err instanceof ProviderError && err.providerStatus === 404;
}

/** Longest Retry-After the HTTP client waits out itself; longer ones go back to the step runner. */
const QUICK_RETRY_MAX_MS = 1_000;
/** Methods whose repetition cannot create a second resource or repeat an action (Scaleway's POSTs do both). */
const REPEATABLE = new Set(['GET', 'HEAD', 'PUT', 'PATCH', 'DELETE']);

/** A 5xx, a short 429 or a dropped connection; not a timeout (it already waited) nor a retryable 4xx (those are waits). */
function worthAQuickRetry(err: ProviderError): boolean {
  const status = err.providerStatus;
  const transient = status === undefined ? err.code === 'provider_unreachable' : status >= 500 || status === 429;
  return transient && (err.retryAfterMs ?? 0) <= QUICK_RETRY_MAX_MS;
}

/**
 * The HTTP client given to the SDK: adds a per-request timeout, and throws a
 * ProviderError (with Retry-After) for any non-2xx answer or network failure.
 *
 * A repeatable request that fails transiently is sent once more after a short
 * pause, as the Cloudflare SDK does (maxRetries 1): a provisioning step makes a
 * dozen calls, and one dropped answer should not cost the whole step a backoff.
 * More than one retry, long Retry-Afters and POSTs stay with the step runner.
 */
export function scalewayHttpClient(fetchImpl: typeof fetch | undefined, timeoutMs: number): typeof fetch {
  const client = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    // Looked up per call so test interceptors installed later (msw) are honoured.
    const doFetch = fetchImpl ?? globalThis.fetch;
    // A Request can be sent once: keep its parts (the body read into memory) to build a fresh one per try.
    const request = new Request(input, init);
    const body = request.body ? await request.arrayBuffer() : null;
    const once = async (): Promise<Response> => {
      let res: Response;
      try {
        res = await doFetch(
          new Request(request.url, {
            method: request.method,
            headers: request.headers,
            body,
            signal: AbortSignal.timeout(timeoutMs),
          }),
        );
      } catch (err) {
        throw toProviderError(err);
      }
      if (!res.ok) throw await errorFromResponse(res);
      return res;
    };
    try {
      return await once();
    } catch (err) {
      if (!(err instanceof ProviderError) || !REPEATABLE.has(request.method) || !worthAQuickRetry(err)) throw err;
      await new Promise((resolve) => setTimeout(resolve, Math.max(250, err.retryAfterMs ?? 0)));
      return once();
    }
  };
  return client as typeof fetch;
}
