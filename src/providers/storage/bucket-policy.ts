/**
 * The bucket policy that makes a server's key unable to destroy its history.
 * Scaleway evaluates a 2023-04-17 policy as allow-only: what no statement
 * allows is refused, whatever IAM grants. So:
 * - the control plane's own principal may do everything (retention, check, erasure);
 * - the server's application may list and read, and write new objects
 *   (versioning keeps whatever a write overwrites);
 * - it may delete only under `locks/`, where restic keeps its lock files.
 * Not allowed, hence refused by the storage: deleting data, index, snapshot
 * or key objects, deleting any version, changing versioning, lifecycle or
 * this policy.
 */
export function backupBucketPolicy(bucket: string, controlPlane: string, server: string): string {
  return JSON.stringify({
    Version: '2023-04-17',
    Id: `mailplane-backup-${bucket}`,
    Statement: [
      { Sid: 'ControlPlaneFullAccess', Effect: 'Allow', Principal: { SCW: controlPlane }, Action: ['s3:*'], Resource: [bucket, `${bucket}/*`] },
      {
        Sid: 'ServerReadAndAppend',
        Effect: 'Allow',
        Principal: { SCW: server },
        Action: ['s3:ListBucket', 's3:GetObject', 's3:PutObject'],
        Resource: [bucket, `${bucket}/*`],
      },
      { Sid: 'ServerRemovesItsLocks', Effect: 'Allow', Principal: { SCW: server }, Action: ['s3:DeleteObject'], Resource: [`${bucket}/locks/*`] },
    ],
  });
}
