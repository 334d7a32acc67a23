/**
 * How Scaleway failures become ProviderErrors, with the real SDK and the
 * network mocked by msw (no server, no sockets).
 */
import { HttpResponse, delay, http } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../../src/clock.ts';
import { ProviderError } from '../../../src/errors.ts';
import { createScalewayCompute } from '../../../src/providers/compute/scaleway.ts';

const API = 'https://scaleway.test';
const SERVER_URL = `${API}/instance/v1/zones/fr-par-1/servers/:id`;
const SERVER_ID = '6a0c3d4e-0000-4000-8000-000000000000';

const mock = setupServer();
beforeAll(() => mock.listen({ onUnhandledFrame: 'error' }));
afterEach(() => mock.resetHandlers());
afterAll(() => mock.close());

function adapter(requestTimeoutMs?: number) {
  return createScalewayCompute({
    ...(requestTimeoutMs ? { requestTimeoutMs } : {}),
    accessKey: 'SCWSANDBOX0000000000', secretKey: '00000000-0000-4000-8000-000000000000',
    projectId: '00000000-0000-4000-8000-000000000001', apiUrl: API, clock: systemClock,
  });
}

async function failureOf(promise: Promise<unknown>): Promise<ProviderError> {
  const err = await promise.then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(ProviderError);
  return err as ProviderError;
}

function answer(status: number, body: Record<string, string>, headers: Record<string, string> = {}) {
  mock.use(http.get(SERVER_URL, () => HttpResponse.json(body, { status, headers })));
}

describe('scaleway error mapping', () => {
  it('makes a 429 retryable and keeps Retry-After', async () => {
    answer(429, { message: 'rate limit exceeded', type: 'too_many_requests', help_message: 'slow down' }, { 'Retry-After': '12' });
    const err = await failureOf(adapter().getServer('fr-par-1', SERVER_ID));
    expect(err.provider).toBe('scaleway');
    expect(err.providerStatus).toBe(429);
    expect(err.retryable).toBe(true);
    expect(err.retryAfterMs).toBe(12_000);
  });

  it('makes a 503 retryable', async () => {
    answer(503, { message: 'service unavailable', type: 'internal_error' });
    const err = await failureOf(adapter().getServer('fr-par-1', SERVER_ID));
    expect(err.providerStatus).toBe(503);
    expect(err.retryable).toBe(true);
  });

  it('makes a 403 final, with the API message in the detail', async () => {
    answer(403, { message: 'insufficient permissions', type: 'permissions_denied' });
    const err = await failureOf(adapter().getServer('fr-par-1', SERVER_ID));
    expect(err.retryable).toBe(false);
    expect(err.detail).toContain('insufficient permissions');
  });

  it('makes a 400 final', async () => {
    mock.use(http.post(`${API}/instance/v1/zones/fr-par-1/ips`, () =>
      HttpResponse.json({ message: 'invalid argument(s)', type: 'invalid_arguments' }, { status: 400 })));
    const err = await failureOf(adapter().createIp('fr-par-1', 'ipv4', []));
    expect(err.providerStatus).toBe(400);
    expect(err.retryable).toBe(false);
  });

  it('makes a network failure retryable', async () => {
    mock.use(http.get(SERVER_URL, () => HttpResponse.error()));
    const err = await failureOf(adapter().getServer('fr-par-1', SERVER_ID));
    expect(err.providerStatus).toBeUndefined();
    expect(err.retryable).toBe(true);
  });

  it('makes a request that never answers a retryable timeout', async () => {
    mock.use(http.get(SERVER_URL, async () => {
      await delay('infinite');
      return HttpResponse.json({});
    }));
    const err = await failureOf(adapter(20).getServer('fr-par-1', SERVER_ID));
    expect(err.code).toBe('provider_timeout');
    expect(err.retryable).toBe(true);
  });

  it('answers null for a 404 instead of failing', async () => {
    answer(404, { message: 'resource is not found', type: 'not_found', resource: 'instance_server', resource_id: SERVER_ID });
    await expect(adapter().getServer('fr-par-1', SERVER_ID)).resolves.toBeNull();
  });

  it('treats a 404 on delete as already deleted', async () => {
    mock.use(http.delete(`${API}/instance/v1/zones/fr-par-1/ips/:id`, () =>
      HttpResponse.json({ message: 'resource is not found', type: 'not_found', resource: 'instance_ip', resource_id: 'x' }, { status: 404 })));
    await expect(adapter().deleteIp('fr-par-1', 'x')).resolves.toBeUndefined();
  });
});
