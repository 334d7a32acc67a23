/**
 * Who may do what, decided as Scaleway decides it for Object Storage:
 * 1. IAM: the principal (application or user) behind the access key needs a
 *    permission set that includes the action, in the bucket's project;
 * 2. the bucket policy, when the bucket has one (version 2023-04-17): only
 *    what a statement explicitly allows for that principal, action and
 *    resource is permitted, and an explicit Deny wins over any Allow.
 * (Scaleway also lets the Organization's owner manage a bucket policy that
 * locks them out; the sandbox has no owner key, only application keys, so a
 * policy that forgets the control plane's principal locks it out here.)
 */
import { S3Error } from './errors.ts';

/** Scaleway's Object Storage permission sets, as the S3 actions each grants. */
const OBJECTS_READ = [
  's3:GetObject',
  's3:GetObjectVersion',
  's3:ListBucket',
  's3:ListBucketVersions',
  's3:ListBucketMultipartUploads',
  's3:ListMultipartUploadParts',
  's3:GetBucketLocation',
];
const BUCKETS_READ = [
  's3:ListAllMyBuckets',
  's3:ListBucket',
  's3:GetBucketLocation',
  's3:GetBucketVersioning',
  's3:GetLifecycleConfiguration',
  's3:GetBucketPolicy',
];
export const PERMISSION_SETS: Record<string, readonly string[]> = {
  AllProductsFullAccess: ['*'],
  ObjectStorageFullAccess: ['s3:*'],
  ObjectStorageReadOnly: [...OBJECTS_READ, ...BUCKETS_READ],
  ObjectStorageObjectsRead: OBJECTS_READ,
  ObjectStorageObjectsWrite: ['s3:PutObject', 's3:AbortMultipartUpload'],
  ObjectStorageObjectsDelete: ['s3:DeleteObject', 's3:DeleteObjectVersion'],
  ObjectStorageBucketsRead: BUCKETS_READ,
  ObjectStorageBucketsWrite: ['s3:CreateBucket', 's3:PutBucketVersioning', 's3:PutLifecycleConfiguration', 's3:PutBucketPolicy'],
  ObjectStorageBucketsDelete: ['s3:DeleteBucket', 's3:DeleteBucketPolicy'],
  IAMManager: ['iam:*'],
};

export interface Principal {
  /** `application_id:<uuid>` or `user_id:<uuid>`, as bucket policies name principals. */
  id: string;
  /** S3 actions (globs) granted through IAM, for the project the buckets live in. */
  iamActions: readonly string[];
}

interface Statement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Principal: '*' | { SCW: string | string[] };
  Action: string | string[];
  Resource: string | string[];
}

const glob = (pattern: string) =>
  new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
  );
const matchesAny = (patterns: readonly string[], value: string) => patterns.some((p) => glob(p).test(value));
const asList = (v: string | string[]) => (Array.isArray(v) ? v : [v]);

/** Parses and checks a bucket policy as PutBucketPolicy does; the error is what S3 answers. */
export function parseBucketPolicy(text: string, bucket: string): Statement[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new S3Error('MalformedPolicy', 'Policies must be valid JSON');
  }
  const d = doc as { Version?: unknown; Statement?: unknown };
  if (d.Version !== '2023-04-17' && d.Version !== '2012-10-17') throw new S3Error('MalformedPolicy', 'Document is invalid: Invalid Version');
  if (!Array.isArray(d.Statement) || d.Statement.length === 0) throw new S3Error('MalformedPolicy', 'Document is invalid: Missing required field Statement');
  for (const s of d.Statement as Statement[]) {
    if (s.Effect !== 'Allow' && s.Effect !== 'Deny') throw new S3Error('MalformedPolicy', 'Document is invalid: Invalid Effect');
    if (s.Principal !== '*' && (typeof s.Principal !== 'object' || !s.Principal || !('SCW' in s.Principal)))
      throw new S3Error('MalformedPolicy', 'Invalid principal in policy');
    if (s.Principal !== '*' && asList(s.Principal.SCW).some((p) => !/^(application_id|user_id|group_id):[0-9a-f-]{36}$/.test(p) && p !== '*'))
      throw new S3Error('MalformedPolicy', 'Invalid principal in policy');
    if (!s.Action || asList(s.Action).some((a) => a !== '*' && !a.startsWith('s3:'))) throw new S3Error('MalformedPolicy', 'Policy has invalid action');
    if (!s.Resource || asList(s.Resource).some((r) => r !== bucket && !r.startsWith(`${bucket}/`)))
      throw new S3Error('MalformedPolicy', 'Policy has invalid resource');
  }
  return d.Statement as Statement[];
}

function statementApplies(s: Statement, principal: Principal, action: string, resource: string): boolean {
  const principals = s.Principal === '*' ? ['*'] : asList(s.Principal.SCW);
  if (!principals.includes('*') && !principals.includes(principal.id)) return false;
  return matchesAny(asList(s.Action), action) && matchesAny(asList(s.Resource), resource);
}

/**
 * Throws AccessDenied unless `principal` may do `action` on `resource`
 * (`bucket` for bucket operations, `bucket/key` for objects).
 */
export function iamAllows(principal: Principal, action: string): boolean {
  return matchesAny(principal.iamActions, action);
}

export function authorize(principal: Principal, action: string, resource: string, bucketPolicy: string | null, bucket: string): void {
  if (!iamAllows(principal, action)) throw new S3Error('AccessDenied', 'Access Denied');
  if (bucketPolicy === null) return;
  const statements = parseBucketPolicy(bucketPolicy, bucket);
  const applying = statements.filter((s) => statementApplies(s, principal, action, resource));
  if (applying.some((s) => s.Effect === 'Deny') || !applying.some((s) => s.Effect === 'Allow')) throw new S3Error('AccessDenied', 'Access Denied');
}
