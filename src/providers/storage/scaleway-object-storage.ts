/**
 * BackupStorage on Scaleway Object Storage: a versioned bucket per server in
 * the server's region (S3 through @aws-sdk/client-s3, the client Scaleway
 * documents) and a per-server IAM key (scaleway-iam.ts) that the bucket
 * policy (bucket-policy.ts) confines to reading and appending. The control
 * plane's own key keeps every right on the bucket.
 *
 * The SDKs are loaded on first use: every `mailplane` process builds the
 * provider set, and most (the CLI) never touch backups.
 *
 * Idempotence: every step of ensureServerRepository may run again (bucket
 * already owned, application found by name, policy put again); deletes treat
 * "already gone" as done.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { BackupStorage, RepositoryAccess, StorageRegion } from './interface.ts';
import { backupBucketPolicy } from './bucket-policy.ts';
import { ScalewayBackupIam, type ScalewayIamOptions } from './scaleway-iam.ts';
import { isS3Code, toStorageError } from './s3-errors.ts';

export interface ScalewayObjectStorageOptions extends ScalewayIamOptions {
  /** Where the control plane reaches S3; `{region}` is replaced. Default `https://s3.{region}.scw.cloud`. */
  endpointTemplate?: string;
  /** Where servers reach S3 (their repository string); default: endpointTemplate. The real-host sandbox differs. */
  serverEndpointTemplate?: string;
  /** Bucket names are `<prefix><serverId>`. Default `mp-backup-`. */
  bucketPrefix?: string;
}

export const DEFAULT_ENDPOINT_TEMPLATE = 'https://s3.{region}.scw.cloud';

async function s3Call<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toStorageError(err, what);
  }
}

export function createScalewayObjectStorage(opts: ScalewayObjectStorageOptions): BackupStorage {
  const iam = new ScalewayBackupIam(opts);
  const template = (opts.endpointTemplate ?? DEFAULT_ENDPOINT_TEMPLATE).replace(/\/+$/, '');
  const serverTemplate = (opts.serverEndpointTemplate ?? template).replace(/\/+$/, '');
  const prefix = opts.bucketPrefix ?? 'mp-backup-';
  const clients = new Map<StorageRegion, S3Client>();
  type S3Sdk = typeof import('@aws-sdk/client-s3');
  let sdkLoading: Promise<S3Sdk> | null = null;
  const sdk = () => (sdkLoading ??= import('@aws-sdk/client-s3'));
  const endpointOf = (t: string, region: StorageRegion) => t.replace('{region}', region);

  const bucketOf = (serverId: string) => {
    if (!/^[a-z0-9][a-z0-9-]{0,50}$/.test(serverId)) throw new Error(`server id not usable in a bucket name: ${serverId}`);
    return `${prefix}${serverId}`;
  };
  const applicationOf = (serverId: string) => `mailplane-backup-${serverId}`;

  async function client(region: StorageRegion): Promise<S3Client> {
    let s3 = clients.get(region);
    if (!s3) {
      const { S3Client } = await sdk();
      s3 = new S3Client({
        region,
        endpoint: endpointOf(template, region),
        forcePathStyle: true,
        credentials: { accessKeyId: opts.accessKey, secretAccessKey: opts.secretKey },
        // Scaleway does not take the SDK's default CRC32 trailers on every upload; send checksums only where S3 requires one.
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
        // One quick retry of a transient failure, as the other Scaleway adapters do; the step runner owns longer backoff.
        maxAttempts: 2,
        // A silent endpoint must fail the call (retryable), not hang the step that made it.
        requestHandler: { connectionTimeout: 10_000, requestTimeout: opts.requestTimeoutMs ?? 30_000 },
      });
      clients.set(region, s3);
    }
    return s3;
  }

  const access = (region: StorageRegion, bucket: string, endpointTemplate: string, key: { accessKey: string; secretKey: string }): RepositoryAccess => {
    const endpoint = endpointOf(endpointTemplate, region);
    return { repository: `s3:${endpoint}/${bucket}`, endpoint, region, bucket, accessKeyId: key.accessKey, secretAccessKey: key.secretKey };
  };

  async function versionsPage(s3: S3Client, bucket: string, keyMarker?: string, versionIdMarker?: string) {
    const { ListObjectVersionsCommand } = await sdk();
    return s3Call('list object versions', () =>
      s3.send(new ListObjectVersionsCommand({ Bucket: bucket, MaxKeys: 1000, KeyMarker: keyMarker, VersionIdMarker: versionIdMarker })),
    );
  }

  return {
    async ensureServerRepository({ serverId, region, noncurrentRetentionDays }) {
      const bucket = bucketOf(serverId);
      const s3 = await client(region);
      const { CreateBucketCommand, PutBucketVersioningCommand, PutBucketLifecycleConfigurationCommand, PutBucketPolicyCommand } = await sdk();
      try {
        await s3.send(new CreateBucketCommand({ Bucket: bucket, CreateBucketConfiguration: { LocationConstraint: region as never } }));
      } catch (err) {
        if (!isS3Code(err, 'BucketAlreadyOwnedByYou')) throw toStorageError(err, `create bucket ${bucket}`);
      }
      await s3Call('enable versioning', () => s3.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } })));
      await s3Call('put lifecycle', () =>
        s3.send(
          new PutBucketLifecycleConfigurationCommand({
            Bucket: bucket,
            LifecycleConfiguration: {
              Rules: [
                {
                  ID: 'mailplane-noncurrent-versions',
                  Status: 'Enabled',
                  Filter: { Prefix: '' },
                  NoncurrentVersionExpiration: { NoncurrentDays: noncurrentRetentionDays },
                  AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
                },
              ],
            },
          }),
        ),
      );
      const applicationId = await iam.ensureServerApplication(applicationOf(serverId));
      const { principal } = await iam.whoAmI();
      // The policy before the key: a key that exists is never one the policy does not confine yet.
      await s3Call('put bucket policy', () =>
        s3.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: backupBucketPolicy(bucket, principal, `application_id:${applicationId}`) })),
      );
      const key = await iam.createKey(applicationId, `mailplane: backups of server ${serverId}`);
      return access(region, bucket, serverTemplate, key);
    },

    async adminAccess({ serverId, region }) {
      return access(region, bucketOf(serverId), template, { accessKey: opts.accessKey, secretKey: opts.secretKey });
    },

    async revokeServerCredentials({ serverId }) {
      await iam.deleteServerApplication(applicationOf(serverId));
    },

    async deleteRepository({ serverId, region }) {
      const bucket = bucketOf(serverId);
      const s3 = await client(region);
      const { DeleteObjectsCommand, ListMultipartUploadsCommand, AbortMultipartUploadCommand, DeleteBucketCommand, HeadBucketCommand } = await sdk();
      try {
        // Delete what one listing shows until a listing shows nothing (a writer may still be adding).
        for (;;) {
          const page = await versionsPage(s3, bucket);
          const ids = [...(page.Versions ?? []), ...(page.DeleteMarkers ?? [])].map((v) => ({ Key: v.Key!, VersionId: v.VersionId! }));
          if (ids.length === 0) break;
          const result = await s3Call('delete object versions', () =>
            s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: ids, Quiet: true } })),
          );
          const failed = result.Errors ?? [];
          if (failed.length > 0)
            throw toStorageError(
              Object.assign(new Error(`${failed.length} versions not deleted, first: ${failed[0]!.Key} ${failed[0]!.Code}`), {
                name: failed[0]!.Code ?? 'DeleteFailed',
                $metadata: { httpStatusCode: failed[0]!.Code === 'AccessDenied' ? 403 : 500 },
              }),
              'delete object versions',
            );
        }
        const uploads = await s3Call('list uploads', () => s3.send(new ListMultipartUploadsCommand({ Bucket: bucket })));
        for (const u of uploads.Uploads ?? [])
          await s3Call('abort upload', () => s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: u.Key!, UploadId: u.UploadId! })));
        await s3Call('delete bucket', () => s3.send(new DeleteBucketCommand({ Bucket: bucket })));
      } catch (err) {
        if (!isS3Code(err, 'NoSuchBucket')) throw err;
      }
      // Resolves only once the storage itself says the bucket is gone.
      try {
        await s3.send(new HeadBucketCommand({ Bucket: bucket }));
      } catch (err) {
        const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
        if (status === 404) return;
        throw toStorageError(err, `check bucket ${bucket} is gone`);
      }
      throw toStorageError(
        Object.assign(new Error(`bucket ${bucket} still exists after deletion`), { name: 'BucketStillExists', $metadata: { httpStatusCode: 503 } }),
        'delete bucket',
      );
    },

    async countObjectVersions({ serverId, region }) {
      const bucket = bucketOf(serverId);
      const s3 = await client(region);
      let count = 0;
      let keyMarker: string | undefined;
      let versionIdMarker: string | undefined;
      try {
        for (;;) {
          const page = await versionsPage(s3, bucket, keyMarker, versionIdMarker);
          count += (page.Versions?.length ?? 0) + (page.DeleteMarkers?.length ?? 0);
          if (!page.IsTruncated) return count;
          keyMarker = page.NextKeyMarker;
          versionIdMarker = page.NextVersionIdMarker;
        }
      } catch (err) {
        if (isS3Code(err, 'NoSuchBucket')) return 0;
        throw err;
      }
    },
  };
}
