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
const IP_ID = '5d084e46-ffbe-45c9-abaa-213ed9bad8ad';

const mock = setupServer();
beforeAll(() => mock.listen({ onUnhandledFrame: 'error' }));
afterEach(() => mock.resetHandlers());
afterAll(() => mock.close());

function adapter(requestTimeoutMs?: number) {
  return createScalewayCompute({
    ...(requestTimeoutMs ? { requestTimeoutMs } : {}),
    accessKey: 'SCWSANDBOX0000000000',
    secretKey: '00000000-0000-4000-8000-000000000000',
    projectId: '00000000-0000-4000-8000-000000000001',
    apiUrl: API,
    clock: systemClock,
  });
}

async function failureOf(promise: Promise<unknown>): Promise<ProviderError> {
  const err = await promise.then(
    () => null,
    (e: unknown) => e,
  );
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

  it('sends a read that failed with a 5xx once more, and succeeds if the second answer does', async () => {
    let calls = 0;
    mock.use(
      http.get(SERVER_URL, () => {
        calls += 1;
        return calls === 1
          ? HttpResponse.json({ message: 'internal error', type: 'internal_error' }, { status: 500 })
          : HttpResponse.json({ message: 'resource is not found', type: 'not_found' }, { status: 404 });
      }),
    );
    await expect(adapter().getServer('fr-par-1', SERVER_ID)).resolves.toBeNull();
    expect(calls).toBe(2);
  });

  it('never repeats a POST: a second create could make a second resource', async () => {
    let calls = 0;
    mock.use(
      http.post(`${API}/instance/v1/zones/fr-par-1/ips`, () => {
        calls += 1;
        return HttpResponse.json({ message: 'internal error', type: 'internal_error' }, { status: 500 });
      }),
    );
    const err = await failureOf(adapter().createIp('fr-par-1', 'ipv4', []));
    expect(err.retryable).toBe(true);
    expect(calls).toBe(1);
  });

  it('leaves a long Retry-After to the step runner instead of sleeping in the request', async () => {
    let calls = 0;
    mock.use(
      http.get(SERVER_URL, () => {
        calls += 1;
        return HttpResponse.json({ message: 'rate limit exceeded', type: 'too_many_requests' }, { status: 429, headers: { 'Retry-After': '30' } });
      }),
    );
    const err = await failureOf(adapter().getServer('fr-par-1', SERVER_ID));
    expect(err.retryAfterMs).toBe(30_000);
    expect(calls).toBe(1);
  });

  it('makes a 403 final, with the API message in the detail', async () => {
    answer(403, { message: 'insufficient permissions', type: 'permissions_denied' });
    const err = await failureOf(adapter().getServer('fr-par-1', SERVER_ID));
    expect(err.retryable).toBe(false);
    expect(err.detail).toContain('insufficient permissions');
  });

  it('makes a 400 final', async () => {
    mock.use(
      http.post(`${API}/instance/v1/zones/fr-par-1/ips`, () =>
        HttpResponse.json({ message: 'invalid argument(s)', type: 'invalid_arguments' }, { status: 400 }),
      ),
    );
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
    mock.use(
      http.get(SERVER_URL, async () => {
        await delay('infinite');
        return HttpResponse.json({});
      }),
    );
    const err = await failureOf(adapter(20).getServer('fr-par-1', SERVER_ID));
    expect(err.code).toBe('provider_timeout');
    expect(err.retryable).toBe(true);
  });

  it('answers null for a 404 instead of failing', async () => {
    answer(404, { message: 'resource is not found', type: 'not_found', resource: 'instance_server', resource_id: SERVER_ID });
    await expect(adapter().getServer('fr-par-1', SERVER_ID)).resolves.toBeNull();
  });

  it('treats a 404 on delete as already deleted', async () => {
    mock.use(
      http.delete(`${API}/instance/v1/zones/fr-par-1/ips/:id`, () =>
        HttpResponse.json({ message: 'resource is not found', type: 'not_found', resource: 'instance_ip', resource_id: 'x' }, { status: 404 }),
      ),
    );
    await expect(adapter().deleteIp('fr-par-1', 'x')).resolves.toBeUndefined();
  });

  it('makes "Your reverse must resolve" (400 invalid_arguments on reverse) retryable: the forward record is not visible yet', async () => {
    // Body as recorded by terraform-provider-scaleway (ip-reverse-dns-basic cassette).
    mock.use(
      http.patch(`${API}/instance/v1/zones/fr-par-1/ips/:id`, () =>
        HttpResponse.json(
          {
            type: 'invalid_arguments',
            message: 'invalid argument(s)',
            details: [
              {
                argument_name: 'reverse',
                reason: 'constraint',
                help_message:
                  "Your reverse must resolve. Ensure the command 'dig +short mail.example.com' matches your IP address '163.172.160.190'. If it does, please contact our support.",
              },
            ],
          },
          { status: 400 },
        ),
      ),
    );
    const err = await failureOf(adapter().setIpv4Reverse('fr-par-1', IP_ID, 'mail.example.com'));
    expect(err.providerStatus).toBe(400);
    expect(err.retryable).toBe(true);
    expect(err.code).toBe('reverse_not_resolving');
    expect(err.detail).toContain('dig +short mail.example.com');
  });

  it('finds the IPAM entry of an attached routed IPv6 through its server when the ipam_id lookup misses', async () => {
    const prefix = '2001:bc8:711:4b81::/64';
    const seen: URLSearchParams[] = [];
    let sent: unknown = null;
    mock.use(
      http.get(`${API}/instance/v1/zones/fr-par-1/ips/:id`, () =>
        HttpResponse.json({
          ip: {
            id: IP_ID,
            address: null,
            prefix,
            reverse: null,
            server: { id: SERVER_ID, name: 'mail' },
            type: 'routed_ipv6',
            state: 'attached',
            tags: [],
            ipam_id: IP_ID,
            zone: 'fr-par-1',
            project: 'p',
            organization: 'o',
          },
        }),
      ),
      http.get(`${API}/ipam/v1/regions/fr-par/ips/:id`, () =>
        HttpResponse.json({ type: 'not_found', message: 'resource is not found', resource: 'ipam_ip', resource_id: IP_ID }, { status: 404 }),
      ),
      http.get(`${API}/ipam/v1/regions/fr-par/ips`, ({ request }) => {
        const q = new URL(request.url).searchParams;
        seen.push(q);
        // The real API: an attached routed IP's resource is the server, not the flexible IP.
        const hit = q.get('resource_id') === SERVER_ID && (q.get('resource_type') ?? 'instance_server') === 'instance_server';
        return HttpResponse.json({
          total_count: hit ? 1 : 0,
          ips: hit
            ? [
                {
                  id: 'ipam-1',
                  address: prefix,
                  is_ipv6: true,
                  project_id: 'p',
                  region: 'fr-par',
                  source: { zonal: 'fr-par-1' },
                  tags: [],
                  resource: { type: 'instance_server', id: SERVER_ID, mac_address: null, name: null },
                  reverses: [{ address: null, hostname: '2001-bc8-711-4b81-0-0-0-0.rev.scw.cloud.' }],
                  created_at: '2026-07-30T12:55:13Z',
                  updated_at: '2026-07-30T12:55:13Z',
                  zone: 'fr-par-1',
                },
              ]
            : [],
        });
      }),
      http.patch(`${API}/ipam/v1/regions/fr-par/ips/ipam-1`, async ({ request }) => {
        sent = await request.json();
        return HttpResponse.json({
          id: 'ipam-1',
          address: prefix,
          is_ipv6: true,
          project_id: 'p',
          region: 'fr-par',
          source: { zonal: 'fr-par-1' },
          tags: [],
          resource: { type: 'instance_server', id: SERVER_ID },
          reverses: [],
          zone: 'fr-par-1',
        });
      }),
    );
    await adapter().setIpv6Reverse('fr-par-1', IP_ID, '2001:bc8:711:4b81:dc00:1ff:fe27:167d', 'mail.example.com');
    expect(seen.some((q) => q.get('resource_id') === SERVER_ID)).toBe(true);
    expect(sent).toEqual({ reverses: [{ hostname: 'mail.example.com', address: '2001:bc8:711:4b81:dc00:1ff:fe27:167d' }] });
  });
});
