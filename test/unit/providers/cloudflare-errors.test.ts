/**
 * How Cloudflare failures reach the workflow: the real SDK against msw.
 */
import { delay, http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ProviderError } from '../../../src/errors.ts';
import { createCloudflareDns } from '../../../src/providers/dns/cloudflare.ts';

const API = 'https://api.cloudflare.test/client/v4';
const server = setupServer();

function envelopeError(code: number, message: string) {
  return { success: false, errors: [{ code, message }], messages: [], result: null };
}

function dns(extra: { maxRetries?: number; timeoutMs?: number } = {}) {
  return createCloudflareDns({ apiToken: 'token', accountId: 'acc', apiUrl: 'https://api.cloudflare.test', maxRetries: 0, ...extra });
}

async function failure(promise: Promise<unknown>): Promise<ProviderError> {
  const err = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ProviderError);
  return err as ProviderError;
}

beforeAll(() => server.listen({ onUnhandledFrame: 'error' }));
afterEach(() => server.resetHandlers());
afterAll(() => server.close());

describe('Cloudflare error mapping', () => {
  it('maps a 429 to a retryable error carrying Retry-After', async () => {
    server.use(
      http.get(`${API}/zones`, () =>
        HttpResponse.json(envelopeError(971, 'Please wait and consider throttling your request speed'), { status: 429, headers: { 'Retry-After': '30' } }),
      ),
    );
    const err = await failure(dns().findZone('example.com'));
    expect(err).toMatchObject({ provider: 'cloudflare', providerStatus: 429, retryable: true, retryAfterMs: 30_000 });
    expect(err.detail).toContain('971');
  });

  it('maps a 500 to a retryable error', async () => {
    server.use(http.get(`${API}/zones/z1/dnssec`, () => HttpResponse.json(envelopeError(10001, 'Internal error'), { status: 500 })));
    const err = await failure(dns().getDnssec('z1'));
    expect(err).toMatchObject({ provider: 'cloudflare', providerStatus: 500, retryable: true });
  });

  it('maps a 403 to a non-retryable error with Cloudflare’s message', async () => {
    server.use(http.post(`${API}/zones/z1/dns_records`, () => HttpResponse.json(envelopeError(9109, 'Invalid access token'), { status: 403 })));
    const err = await failure(dns().createRecord('z1', { type: 'A', name: 'a.example.com', content: '192.0.2.1' }));
    expect(err).toMatchObject({ provider: 'cloudflare', providerStatus: 403, retryable: false });
    expect(err.detail).toContain('Invalid access token (code 9109)');
  });

  it('maps a network failure to a retryable error', async () => {
    server.use(http.get(`${API}/zones`, () => HttpResponse.error()));
    const err = await failure(dns().findZone('example.com'));
    expect(err).toMatchObject({ provider: 'cloudflare', retryable: true, code: 'provider_unreachable', providerStatus: undefined });
  });

  it('maps a request timeout to a retryable error', async () => {
    server.use(
      http.get(`${API}/zones`, async () => {
        await delay('infinite');
        return HttpResponse.json({});
      }),
    );
    const err = await failure(dns({ timeoutMs: 50 }).findZone('example.com'));
    expect(err).toMatchObject({ provider: 'cloudflare', retryable: true, code: 'provider_timeout' });
  });

  it('treats deleting a record that is already gone as success', async () => {
    server.use(http.delete(`${API}/zones/z1/dns_records/r1`, () => HttpResponse.json(envelopeError(81044, 'Record does not exist.'), { status: 404 })));
    await expect(dns().deleteRecord('z1', 'r1')).resolves.toBeUndefined();
  });

  it('lets the SDK retry a 5xx once by default', async () => {
    let calls = 0;
    server.use(
      http.get(`${API}/zones/z1/dnssec`, () => {
        calls++;
        if (calls === 1) return HttpResponse.json(envelopeError(10001, 'Internal error'), { status: 502, headers: { 'retry-after-ms': '1' } });
        return HttpResponse.json({ success: true, errors: [], messages: [], result: { status: 'disabled', ds: null } });
      }),
    );
    const client = createCloudflareDns({ apiToken: 'token', accountId: 'acc', apiUrl: 'https://api.cloudflare.test' });
    await expect(client.getDnssec('z1')).resolves.toEqual({ state: 'disabled', ds: null, key: null });
    expect(calls).toBe(2);
  });

  it.each([
    [81058, 'An identical record already exists.'],
    // The code Cloudflare sent for the same refusal until 2023 (simplesurance/cfdns#17); certbot and lexicon accept both.
    [81057, 'Record already exists.'],
  ])('takes a create refused with %i after a concurrent upsert as the record being there', async (code, message) => {
    const record = {
      id: 'r1',
      zone_id: 'z1',
      zone_name: 'race.example',
      name: 'race.example',
      type: 'A',
      content: '192.0.2.7',
      ttl: 1,
      proxied: false,
      proxiable: true,
    };
    let listed = 0;
    server.use(
      http.get(`${API}/zones/z1/dns_records`, ({ request }) => {
        // Before the create: empty. After it: the other worker's record, on page 1 only.
        const page = Number(new URL(request.url).searchParams.get('page') ?? '1');
        const result = page > 1 || listed++ === 0 ? [] : [record];
        return HttpResponse.json({
          success: true,
          errors: [],
          messages: [],
          result,
          result_info: { page: 1, per_page: 100, count: result.length, total_count: result.length, total_pages: 1 },
        });
      }),
      http.post(`${API}/zones/z1/dns_records`, () => HttpResponse.json(envelopeError(code, message), { status: 400 })),
    );
    const { action, record: got } = await dns().upsertRecord('z1', { type: 'A', name: 'race.example', content: '192.0.2.7' });
    expect(action).toBe('unchanged');
    expect(got.id).toBe('r1');
  });

  it('finds the zone another worker created between lookup and create', async () => {
    let listed = 0;
    const zone = { id: 'z9', name: 'race.example', status: 'pending', name_servers: ['a.ns', 'b.ns'] };
    server.use(
      http.get(`${API}/zones`, () => {
        listed++;
        const result = listed === 1 ? [] : [zone];
        return HttpResponse.json({
          success: true,
          errors: [],
          messages: [],
          result,
          result_info: { page: 1, per_page: 20, count: result.length, total_count: result.length, total_pages: 1 },
        });
      }),
      http.post(`${API}/zones`, () => HttpResponse.json(envelopeError(1061, 'race.example already exists'), { status: 400 })),
    );
    // No created_on in this answer: the adapter says so rather than inventing a date.
    await expect(dns().ensureZone('race.example')).resolves.toEqual({
      id: 'z9',
      name: 'race.example',
      nameServers: ['a.ns', 'b.ns'],
      status: 'pending',
      createdAt: null,
    });
  });

  it.each([
    [403, 9109, 'Unauthorized to access requested resource'],
    [400, 7003, 'Could not route to /zones/z1, perhaps your object identifier is invalid?'],
  ])('counts a zone delete answered %i (code %i) as done only when no zone of that name is left', async (status, code, message) => {
    const zones: { id: string; name: string; status: string; name_servers: string[] }[] = [];
    server.use(
      http.delete(`${API}/zones/z1`, () => HttpResponse.json(envelopeError(code, message), { status })),
      http.get(`${API}/zones`, () =>
        HttpResponse.json({
          success: true,
          errors: [],
          messages: [],
          result: zones,
          result_info: { page: 1, per_page: 20, count: zones.length, total_count: zones.length, total_pages: 1 },
        }),
      ),
    );
    await expect(dns().deleteZone('z1', 'gone.example')).resolves.toBeUndefined();
    // The same answer while the zone is still listed is a real refusal (a token without permission).
    zones.push({ id: 'z1', name: 'gone.example', status: 'active', name_servers: ['a.ns', 'b.ns'] });
    expect((await failure(dns().deleteZone('z1', 'gone.example'))).providerStatus).toBe(status);
  });

  it.each([
    [403, 9109, 'Unauthorized to access requested resource'],
    [400, 7003, 'Could not route to /client/v4/zones/z1, perhaps your object identifier is invalid?'],
  ])('reads an activation check answered %i (code %i) as "zone gone" only when no zone of that name is left', async (status, code, message) => {
    const zones: { id: string; name: string; status: string; name_servers: string[] }[] = [];
    server.use(
      http.put(`${API}/zones/z1/activation_check`, () => HttpResponse.json(envelopeError(code, message), { status })),
      http.get(`${API}/zones/z1`, () =>
        zones[0]
          ? HttpResponse.json({ success: true, errors: [], messages: [], result: zones[0] })
          : HttpResponse.json(envelopeError(code, message), { status }),
      ),
      http.get(`${API}/zones`, () =>
        HttpResponse.json({
          success: true,
          errors: [],
          messages: [],
          result: zones,
          result_info: { page: 1, per_page: 20, count: zones.length, total_count: zones.length, total_pages: 1 },
        }),
      ),
    );
    await expect(dns().checkActivation('z1', 'gone.example')).resolves.toBeNull();
    // Still listed: the refused check was only a nudge, and the zone as it stands is the answer.
    zones.push({ id: 'z1', name: 'gone.example', status: 'pending', name_servers: ['a.ns', 'b.ns'] });
    expect((await dns().checkActivation('z1', 'gone.example'))?.status).toBe('pending');
  });
});
