/**
 * How Object Storage and IAM failures leave the backup storage adapter: the
 * real SDKs (AWS S3, Scaleway IAM), the network mocked by msw. A 5xx is
 * retried once by the client and then surfaces as a retryable ProviderError;
 * a refusal (AccessDenied) is neither retried nor retryable.
 */
import { HttpResponse, delay, http } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ProviderError } from '../../../src/errors.ts';
import { createScalewayObjectStorage } from '../../../src/providers/storage/scaleway-object-storage.ts';

const SERVER = '0d000000-0000-4000-8000-00000000000d';
const BUCKET_URL = `https://s3.fr-par.scw.cloud/mp-backup-${SERVER}`;
const API = 'https://scaleway.test';
const storage = createScalewayObjectStorage({
  accessKey: 'SCWSANDBOX0000000000',
  secretKey: '00000000-0000-4000-8000-000000000000',
  projectId: '00000000-0000-4000-8000-000000000001',
  apiUrl: API,
});
const where = { serverId: SERVER, region: 'fr-par' as const };

const mock = setupServer();
beforeAll(() => mock.listen({ onUnhandledFrame: 'error' }));
afterEach(() => mock.resetHandlers());
afterAll(() => mock.close());

const s3Error = (status: number, code: string, message: string) =>
  new HttpResponse(`<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>tx1-2</RequestId></Error>`, {
    status,
    headers: { 'content-type': 'application/xml' },
  });
const versionsXml = (n: number) =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<ListVersionsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name><IsTruncated>false</IsTruncated>${Array.from(
    { length: n },
    (_, i) =>
      `<Version><Key>k${i}</Key><VersionId>v${i}</VersionId><IsLatest>true</IsLatest><LastModified>2026-12-01T00:00:00.000Z</LastModified><ETag>"x"</ETag><Size>1</Size></Version>`,
  ).join('')}</ListVersionsResult>`;

async function failureOf(promise: Promise<unknown>): Promise<ProviderError> {
  const err = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ProviderError);
  return err as ProviderError;
}

describe('object storage error mapping', () => {
  it('retries a 503 once, then surfaces it as retryable', async () => {
    let calls = 0;
    mock.use(
      http.get(BUCKET_URL, () => {
        calls++;
        return s3Error(503, 'SlowDown', 'Please reduce your request rate.');
      }),
    );
    const err = await failureOf(storage.countObjectVersions(where));
    expect(calls).toBe(2);
    expect(err.provider).toBe('scaleway-object-storage');
    expect(err.providerStatus).toBe(503);
    expect(err.retryable).toBe(true);
  });

  it('succeeds when the retried request does', async () => {
    let calls = 0;
    mock.use(
      http.get(BUCKET_URL, () =>
        ++calls === 1
          ? s3Error(500, 'InternalError', 'We encountered an internal error.')
          : new HttpResponse(versionsXml(3), { headers: { 'content-type': 'application/xml' } }),
      ),
    );
    expect(await storage.countObjectVersions(where)).toBe(3);
    expect(calls).toBe(2);
  });

  it('makes AccessDenied final: one request, not retryable, the code kept', async () => {
    let calls = 0;
    mock.use(
      http.get(BUCKET_URL, () => {
        calls++;
        return s3Error(403, 'AccessDenied', 'Access Denied');
      }),
    );
    const err = await failureOf(storage.countObjectVersions(where));
    expect(calls).toBe(1);
    expect(err.providerStatus).toBe(403);
    expect(err.retryable).toBe(false);
    expect(err.code).toBe('s3_AccessDenied');
  });

  it('counts a bucket that does not exist as empty', async () => {
    mock.use(http.get(BUCKET_URL, () => s3Error(404, 'NoSuchBucket', 'The specified bucket does not exist')));
    expect(await storage.countObjectVersions(where)).toBe(0);
  });

  it('makes a dropped connection retryable', async () => {
    mock.use(http.get(BUCKET_URL, () => HttpResponse.error()));
    const err = await failureOf(storage.countObjectVersions(where));
    expect(err.code).toBe('provider_unreachable');
    expect(err.retryable).toBe(true);
  });

  it('gives up on a silent endpoint after the request timeout, retryable', async () => {
    mock.use(
      http.get(BUCKET_URL, async () => {
        await delay('infinite');
        return new HttpResponse(null);
      }),
    );
    const impatient = createScalewayObjectStorage({
      accessKey: 'SCWSANDBOX0000000000',
      secretKey: '00000000-0000-4000-8000-000000000000',
      projectId: '00000000-0000-4000-8000-000000000001',
      apiUrl: API,
      requestTimeoutMs: 200,
    });
    const err = await failureOf(impatient.countObjectVersions(where));
    expect(err.retryable).toBe(true);
  });

  it('makes an IAM 5xx while minting a server key retryable, after the bucket steps', async () => {
    const seen: string[] = [];
    mock.use(
      http.put(BUCKET_URL, ({ request }) => {
        seen.push(`PUT ${new URL(request.url).search || '(bucket)'}`);
        return new HttpResponse(null, { status: 200 });
      }),
      http.get(`${API}/iam/v1alpha1/api-keys/:key`, () => HttpResponse.json({ message: 'internal error', type: 'internal_error' }, { status: 503 })),
    );
    const err = await failureOf(storage.ensureServerRepository({ ...where, noncurrentRetentionDays: 2 }));
    expect(seen).toEqual(['PUT (bucket)', 'PUT ?versioning=', 'PUT ?lifecycle=']);
    expect(err.provider).toBe('scaleway');
    expect(err.retryable).toBe(true);
  });

  it('takes BucketAlreadyOwnedByYou as "already created" and stops at a refused versioning call', async () => {
    mock.use(
      http.put(BUCKET_URL, ({ request }) =>
        new URL(request.url).search === ''
          ? s3Error(409, 'BucketAlreadyOwnedByYou', 'Your previous request to create the named bucket succeeded and you already own it.')
          : s3Error(403, 'AccessDenied', 'Access Denied'),
      ),
    );
    const err = await failureOf(storage.ensureServerRepository({ ...where, noncurrentRetentionDays: 2 }));
    expect(err.code).toBe('s3_AccessDenied');
    expect(err.retryable).toBe(false);
  });
});
