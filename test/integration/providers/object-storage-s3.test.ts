/**
 * The object storage emulator on the S3 wire, judged by the AWS SDK (a second
 * real client besides restic's minio-go) and by raw HTTP where the bytes
 * matter: SigV4 refusals, the error XML, listings past 1000 keys, ranges,
 * multipart, versioning and the bucket policy's refusals.
 */
import { Agent } from 'node:http';
import { Readable } from 'node:stream';
import { connect } from 'node:net';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  GetBucketPolicyCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsCommand,
  ListObjectsV2Command,
  PutBucketLifecycleConfigurationCommand,
  ListObjectVersionsCommand,
  PutBucketPolicyCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
  paginateListObjectsV2,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RepositoryAccess } from '../../../src/providers/storage/interface.ts';
import { SANDBOX_SCW_ACCOUNT } from '../../../src/sandbox/sandbox.ts';
import { s3With, startObjectStorage, type ObjectStorageWorld } from '../../support/object-storage.ts';

const SERVER = '0c000000-0000-4000-8000-00000000000c';
let world: ObjectStorageWorld;
let admin: S3Client;
let server: RepositoryAccess;

beforeAll(async () => {
  world = await startObjectStorage();
  server = await world.storage.ensureServerRepository({ serverId: SERVER, region: 'nl-ams', noncurrentRetentionDays: 3 });
  admin = s3With(await world.storage.adminAccess({ serverId: SERVER, region: 'nl-ams' }));
  await admin.send(new CreateBucketCommand({ Bucket: 'plain', CreateBucketConfiguration: { LocationConstraint: 'nl-ams' as never } }));
});

afterAll(async () => {
  await world?.close();
});

describe('signatures and errors', () => {
  it('answers a wrong secret with SignatureDoesNotMatch (403) and an unknown key with InvalidAccessKeyId', async () => {
    const wrong = s3With({ ...server, secretAccessKey: '00000000-0000-4000-8000-0000000000ff' });
    await expect(wrong.send(new ListObjectsV2Command({ Bucket: server.bucket }))).rejects.toMatchObject({
      name: 'SignatureDoesNotMatch',
      $metadata: { httpStatusCode: 403 },
    });
    const unknown = s3With({ ...server, accessKeyId: 'SCWNOSUCHKEY00000000' });
    await expect(unknown.send(new ListObjectsV2Command({ Bucket: server.bucket }))).rejects.toMatchObject({
      name: 'InvalidAccessKeyId',
      $metadata: { httpStatusCode: 403 },
    });
  });

  it('refuses an unsigned request with the S3 error XML and a request id', async () => {
    const res = await fetch(`${world.emulator.url}/${server.bucket}?list-type=2`);
    expect(res.status).toBe(403);
    expect(res.headers.get('content-type')).toBe('application/xml');
    const requestId = res.headers.get('x-amz-request-id');
    expect(requestId).toMatch(/^tx[0-9a-f]+-[0-9a-f]+$/);
    const body = await res.text();
    expect(body).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?>\n<Error><Code>AccessDenied<\/Code><Message>Access Denied<\/Message>/);
    expect(body).toContain(`<RequestId>${requestId}</RequestId>`);
  });

  it("refuses a request signed for another region than the bucket's", async () => {
    const elsewhere = s3With({ ...server, region: 'fr-par' });
    await expect(elsewhere.send(new ListObjectsV2Command({ Bucket: server.bucket }))).rejects.toMatchObject({
      name: 'AuthorizationHeaderMalformed',
      $metadata: { httpStatusCode: 400 },
    });
  });

  it('serves virtual-hosted-style requests (bucket.s3.<region>.scw.cloud) like path-style ones', async () => {
    const port = Number(new URL(world.emulator.url).port);
    // Every name resolves to the emulator: the Host header is what S3 routes on.
    const agent = new Agent();
    agent.createConnection = () => connect(port, '127.0.0.1');
    const virtual = new S3Client({
      endpoint: `http://s3.nl-ams.scw.cloud:${port}`,
      region: 'nl-ams',
      forcePathStyle: false,
      maxAttempts: 1,
      requestHandler: { httpAgent: agent },
      credentials: { accessKeyId: SANDBOX_SCW_ACCOUNT.accessKey, secretAccessKey: SANDBOX_SCW_ACCOUNT.secretKey },
    });
    await virtual.send(new PutObjectCommand({ Bucket: 'plain', Key: 'virtual/hello.txt', Body: 'hello from a virtual host' }));
    const got = await admin.send(new GetObjectCommand({ Bucket: 'plain', Key: 'virtual/hello.txt' }));
    expect(await got.Body!.transformToString()).toBe('hello from a virtual host');
    agent.destroy();
  });
});

describe('objects and listings', () => {
  it('pages ListObjectsV2 over more than 1000 keys with continuation tokens, max-keys and delimiters', async () => {
    const keys = Array.from({ length: 1105 }, (_, i) => `many/${String(i % 3)}/k${String(i).padStart(5, '0')}`);
    for (let i = 0; i < keys.length; i += 50) {
      await Promise.all(keys.slice(i, i + 50).map((Key) => admin.send(new PutObjectCommand({ Bucket: 'plain', Key, Body: Key }))));
    }
    const first = await admin.send(new ListObjectsV2Command({ Bucket: 'plain', Prefix: 'many/' }));
    expect(first.KeyCount).toBe(1000);
    expect(first.IsTruncated).toBe(true);
    const second = await admin.send(new ListObjectsV2Command({ Bucket: 'plain', Prefix: 'many/', ContinuationToken: first.NextContinuationToken }));
    expect(second.KeyCount).toBe(105);
    expect(second.IsTruncated).toBe(false);
    const seen: string[] = [];
    let pages = 0;
    for await (const page of paginateListObjectsV2({ client: admin }, { Bucket: 'plain', Prefix: 'many/', MaxKeys: 400 })) {
      pages++;
      seen.push(...(page.Contents ?? []).map((c) => c.Key!));
    }
    expect(pages).toBe(3);
    expect(seen).toEqual([...keys].sort());
    const v1 = await admin.send(new ListObjectsCommand({ Bucket: 'plain', Prefix: 'many/' }));
    expect(v1.Contents).toHaveLength(1000);
    const v1Rest = await admin.send(new ListObjectsCommand({ Bucket: 'plain', Prefix: 'many/', Marker: v1.NextMarker }));
    expect(v1Rest.Contents).toHaveLength(105);
    expect(v1Rest.IsTruncated).toBe(false);
    const folded = await admin.send(new ListObjectsV2Command({ Bucket: 'plain', Prefix: 'many/', Delimiter: '/' }));
    expect(folded.CommonPrefixes?.map((p) => p.Prefix)).toEqual(['many/0/', 'many/1/', 'many/2/']);
    expect(folded.Contents ?? []).toHaveLength(0);
  });

  it('answers a Range with 206 and its slice, and an unsatisfiable one with 416 InvalidRange', async () => {
    await admin.send(new PutObjectCommand({ Bucket: 'plain', Key: 'range.txt', Body: '0123456789' }));
    const part = await admin.send(new GetObjectCommand({ Bucket: 'plain', Key: 'range.txt', Range: 'bytes=2-5' }));
    expect(part.$metadata.httpStatusCode).toBe(206);
    expect(part.ContentRange).toBe('bytes 2-5/10');
    expect(await part.Body!.transformToString()).toBe('2345');
    const tail = await admin.send(new GetObjectCommand({ Bucket: 'plain', Key: 'range.txt', Range: 'bytes=-3' }));
    expect(await tail.Body!.transformToString()).toBe('789');
    await expect(admin.send(new GetObjectCommand({ Bucket: 'plain', Key: 'range.txt', Range: 'bytes=20-' }))).rejects.toMatchObject({
      name: 'InvalidRange',
      $metadata: { httpStatusCode: 416 },
    });
  });

  it('takes a streamed body in aws-chunked encoding with a checksum trailer, as the AWS SDK sends one by default', async () => {
    const streaming = new S3Client({
      endpoint: world.emulator.url,
      region: 'nl-ams',
      forcePathStyle: true,
      maxAttempts: 1,
      requestChecksumCalculation: 'WHEN_SUPPORTED',
      credentials: { accessKeyId: SANDBOX_SCW_ACCOUNT.accessKey, secretAccessKey: SANDBOX_SCW_ACCOUNT.secretKey },
    });
    const chunks = ['first chunk, ', 'second chunk, ', 'last chunk'];
    let sentBody = '';
    streaming.middlewareStack.add(
      (next) => async (args) => {
        sentBody = String((args.request as { headers: Record<string, string> }).headers['x-amz-content-sha256']);
        return next(args);
      },
      { step: 'finalizeRequest', name: 'seePayloadMode' },
    );
    await streaming.send(
      new PutObjectCommand({
        Bucket: 'plain',
        Key: 'streamed.txt',
        Body: Readable.from(chunks.map((c) => Buffer.from(c))),
        ContentLength: chunks.join('').length,
      }),
    );
    expect(sentBody).toBe('STREAMING-UNSIGNED-PAYLOAD-TRAILER');
    const got = await admin.send(new GetObjectCommand({ Bucket: 'plain', Key: 'streamed.txt' }));
    expect(await got.Body!.transformToString()).toBe(chunks.join(''));
  });

  it('assembles a multipart upload, refuses a small middle part and forgets an aborted upload', async () => {
    const big = Buffer.alloc(5 * 1024 * 1024, 7);
    const { UploadId } = await admin.send(new CreateMultipartUploadCommand({ Bucket: 'plain', Key: 'mp.bin' }));
    const p1 = await admin.send(new UploadPartCommand({ Bucket: 'plain', Key: 'mp.bin', UploadId, PartNumber: 1, Body: big }));
    const p2 = await admin.send(new UploadPartCommand({ Bucket: 'plain', Key: 'mp.bin', UploadId, PartNumber: 2, Body: 'tail' }));
    const done = await admin.send(
      new CompleteMultipartUploadCommand({
        Bucket: 'plain',
        Key: 'mp.bin',
        UploadId,
        MultipartUpload: {
          Parts: [
            { PartNumber: 1, ETag: p1.ETag },
            { PartNumber: 2, ETag: p2.ETag },
          ],
        },
      }),
    );
    expect(done.ETag).toMatch(/-2"$/);
    const head = await admin.send(new HeadObjectCommand({ Bucket: 'plain', Key: 'mp.bin' }));
    expect(head.ContentLength).toBe(big.length + 4);

    const small = await admin.send(new CreateMultipartUploadCommand({ Bucket: 'plain', Key: 'small.bin' }));
    const s1 = await admin.send(new UploadPartCommand({ Bucket: 'plain', Key: 'small.bin', UploadId: small.UploadId, PartNumber: 1, Body: 'a' }));
    const s2 = await admin.send(new UploadPartCommand({ Bucket: 'plain', Key: 'small.bin', UploadId: small.UploadId, PartNumber: 2, Body: 'b' }));
    await expect(
      admin.send(
        new CompleteMultipartUploadCommand({
          Bucket: 'plain',
          Key: 'small.bin',
          UploadId: small.UploadId,
          MultipartUpload: {
            Parts: [
              { PartNumber: 1, ETag: s1.ETag },
              { PartNumber: 2, ETag: s2.ETag },
            ],
          },
        }),
      ),
    ).rejects.toMatchObject({ name: 'EntityTooSmall' });
    await admin.send(new AbortMultipartUploadCommand({ Bucket: 'plain', Key: 'small.bin', UploadId: small.UploadId }));
    await expect(admin.send(new AbortMultipartUploadCommand({ Bucket: 'plain', Key: 'small.bin', UploadId: small.UploadId }))).rejects.toMatchObject({
      name: 'NoSuchUpload',
      $metadata: { httpStatusCode: 404 },
    });
  });

  it('keeps versions: a delete leaves a marker, old versions stay readable, a non-empty bucket cannot be deleted', async () => {
    await admin.send(new PutBucketVersioningCommand({ Bucket: 'plain', VersioningConfiguration: { Status: 'Enabled' } }));
    const v1 = await admin.send(new PutObjectCommand({ Bucket: 'plain', Key: 'doc.txt', Body: 'one' }));
    await admin.send(new PutObjectCommand({ Bucket: 'plain', Key: 'doc.txt', Body: 'two' }));
    const marker = await admin.send(new DeleteObjectCommand({ Bucket: 'plain', Key: 'doc.txt' }));
    expect(marker.DeleteMarker).toBe(true);
    await expect(admin.send(new GetObjectCommand({ Bucket: 'plain', Key: 'doc.txt' }))).rejects.toMatchObject({
      name: 'NoSuchKey',
      $metadata: { httpStatusCode: 404 },
    });
    const versions = await admin.send(new ListObjectVersionsCommand({ Bucket: 'plain', Prefix: 'doc.txt' }));
    expect(versions.Versions).toHaveLength(2);
    expect(versions.DeleteMarkers).toHaveLength(1);
    const old = await admin.send(new GetObjectCommand({ Bucket: 'plain', Key: 'doc.txt', VersionId: v1.VersionId }));
    expect(await old.Body!.transformToString()).toBe('one');
    await expect(admin.send(new DeleteBucketCommand({ Bucket: 'plain' }))).rejects.toMatchObject({
      name: 'BucketNotEmpty',
      $metadata: { httpStatusCode: 409 },
    });
  });
});

describe('lifecycle', () => {
  it('expires noncurrent versions after their days, then the delete marker left alone, and aborts stale uploads', async () => {
    const DAY = 86_400_000;
    await admin.send(new CreateBucketCommand({ Bucket: 'life', CreateBucketConfiguration: { LocationConstraint: 'nl-ams' as never } }));
    await admin.send(new PutBucketVersioningCommand({ Bucket: 'life', VersioningConfiguration: { Status: 'Enabled' } }));
    await admin.send(
      new PutBucketLifecycleConfigurationCommand({
        Bucket: 'life',
        LifecycleConfiguration: {
          Rules: [
            {
              ID: 'all',
              Status: 'Enabled',
              Filter: { Prefix: '' },
              NoncurrentVersionExpiration: { NoncurrentDays: 1 },
              AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
              Expiration: { ExpiredObjectDeleteMarker: true },
            },
          ],
        },
      }),
    );
    await admin.send(new PutObjectCommand({ Bucket: 'life', Key: 'gone.txt', Body: 'x' }));
    await admin.send(new DeleteObjectCommand({ Bucket: 'life', Key: 'gone.txt' }));
    await admin.send(new PutObjectCommand({ Bucket: 'life', Key: 'kept.txt', Body: 'y' }));
    await admin.send(new CreateMultipartUploadCommand({ Bucket: 'life', Key: 'stale.bin' }));
    const sweepAt = async (ms: number) => {
      world.advance(ms);
      try {
        return await world.emulator.sweepLifecycle();
      } finally {
        world.advance(-ms);
      }
    };
    expect(await sweepAt(DAY / 2)).toBe(0);
    expect(await sweepAt(DAY + 60_000)).toBe(3);
    expect(world.emulator.countVersions('life')).toBe(1);
    expect((await admin.send(new ListMultipartUploadsCommand({ Bucket: 'life' }))).Uploads ?? []).toHaveLength(0);
    expect(await (await admin.send(new GetObjectCommand({ Bucket: 'life', Key: 'kept.txt' }))).Body!.transformToString()).toBe('y');
  });
});

describe("the backup bucket's policy", () => {
  it("is the adapter's, and refuses the server key any change to versioning, the policy or old versions", async () => {
    const policy = JSON.parse((await admin.send(new GetBucketPolicyCommand({ Bucket: server.bucket }))).Policy!) as { Statement: { Sid: string }[] };
    expect(policy.Statement.map((s) => s.Sid)).toEqual(['ControlPlaneFullAccess', 'ServerReadAndAppend', 'ServerRemovesItsLocks']);
    const s3 = s3With(server);
    const put = await s3.send(new PutObjectCommand({ Bucket: server.bucket, Key: 'index/aa', Body: 'first' }));
    await s3.send(new PutObjectCommand({ Bucket: server.bucket, Key: 'locks/l1', Body: 'lock' }));
    await s3.send(new DeleteObjectCommand({ Bucket: server.bucket, Key: 'locks/l1' }));
    for (const refused of [
      new PutBucketVersioningCommand({ Bucket: server.bucket, VersioningConfiguration: { Status: 'Suspended' } }),
      new PutBucketPolicyCommand({ Bucket: server.bucket, Policy: JSON.stringify({ Version: '2023-04-17', Statement: [] }) }),
      new DeleteObjectCommand({ Bucket: server.bucket, Key: 'index/aa', VersionId: put.VersionId }),
      new DeleteObjectCommand({ Bucket: server.bucket, Key: 'index/aa' }),
      new DeleteBucketCommand({ Bucket: server.bucket }),
    ]) {
      await expect(s3.send(refused as never)).rejects.toMatchObject({ name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
    }
    // Overwriting is allowed and loses nothing: the first version is still there for the control plane.
    await s3.send(new PutObjectCommand({ Bucket: server.bucket, Key: 'index/aa', Body: 'overwritten' }));
    const first = await admin.send(new GetObjectCommand({ Bucket: server.bucket, Key: 'index/aa', VersionId: put.VersionId }));
    expect(await first.Body!.transformToString()).toBe('first');
  });

  it('gives the server key no way to mint keys: IAM refuses it, and an unknown secret', async () => {
    const mint = (token: string) =>
      fetch(`${world.scaleway.url}/iam/v1alpha1/api-keys`, {
        method: 'POST',
        headers: { 'X-Auth-Token': token, 'content-type': 'application/json' },
        body: JSON.stringify({ application_id: '00000000-0000-4000-8000-000000000003' }),
      });
    const refused = await mint(server.secretAccessKey);
    expect(refused.status).toBe(403);
    expect(await refused.json()).toMatchObject({ type: 'permissions_denied' });
    expect((await mint('00000000-0000-4000-8000-0000000000ff')).status).toBe(401);
  });
});
