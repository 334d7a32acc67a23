/**
 * Bucket operations: create/head/delete, listings, versioning, lifecycle,
 * bucket policy, multi-object delete. Each checks the caller's right to the
 * action first, as S3 does (a denied caller learns nothing about the bucket).
 */
import { createHash } from 'node:crypto';
import { S3Error, xmlEscape } from './errors.ts';
import { emptyResponse, xmlResponse, type S3Call } from './call.ts';
import { parseLifecycle, lifecycleXml } from './lifecycle.ts';
import { decodeToken, listV1, listV2, listVersions, maxKeysOf, type ListParams } from './listing.ts';
import { validBucketName } from './model.ts';
import { deleteOne } from './object-ops.ts';
import { parseBucketPolicy } from './policy.ts';
import { elements, root, text } from './xml.ts';

const NS = 'http://s3.amazonaws.com/doc/2006-03-01/';

/** S3 requires an integrity header on bodies that change configuration or delete in bulk. */
function requireIntegrity(call: S3Call): void {
  const md5 = call.headers.get('content-md5');
  const checksum = [...call.headers.keys()].some((h) => h.startsWith('x-amz-checksum-'));
  if (md5 === null && !checksum) throw new S3Error('InvalidRequest', 'Missing required header for this request: Content-Md5');
  if (md5 !== null && createHash('md5').update(call.body).digest('base64') !== md5)
    throw new S3Error('BadDigest', 'The Content-MD5 you specified did not match what we received.');
}

function listParams(call: S3Call, after: string): ListParams {
  return {
    prefix: call.query.get('prefix') ?? '',
    delimiter: call.query.get('delimiter') ?? '',
    maxKeys: maxKeysOf(call.query.get('max-keys')),
    after,
    urlEncode: call.query.get('encoding-type') === 'url',
  };
}

export async function bucketOperation(call: S3Call): Promise<Response> {
  const { method, query, store, bucket: name } = call;
  if (method === 'PUT' && !query.has('versioning') && !query.has('policy') && !query.has('lifecycle')) return createBucket(call);
  if (method === 'HEAD') {
    call.authorize('s3:ListBucket');
    store.bucket(name);
    return emptyResponse(200, { 'x-amz-bucket-region': store.bucket(name).region });
  }
  if (method === 'DELETE' && query.size === 0) {
    call.authorize('s3:DeleteBucket');
    await store.deleteBucket(name);
    return emptyResponse(204);
  }
  if (method === 'GET' && query.has('location')) {
    call.authorize('s3:GetBucketLocation');
    return xmlResponse(`<?xml version="1.0" encoding="UTF-8"?>\n<LocationConstraint xmlns="${NS}">${store.bucket(name).region}</LocationConstraint>`);
  }
  if (query.has('versioning')) return versioning(call);
  if (query.has('policy')) return policy(call);
  if (query.has('lifecycle')) return lifecycle(call);
  if (method === 'POST' && query.has('delete')) return deleteObjects(call);
  if (method === 'GET' && query.has('versions')) {
    call.authorize('s3:ListBucketVersions');
    return xmlResponse(listVersions(store.bucket(name), listParams(call, ''), query.get('key-marker') ?? '', query.get('version-id-marker') ?? ''));
  }
  if (method === 'GET' && query.has('uploads')) {
    call.authorize('s3:ListBucketMultipartUploads');
    const uploads = Object.values(store.bucket(name).uploads).filter((u) => u.key.startsWith(query.get('prefix') ?? ''));
    return xmlResponse(
      `<?xml version="1.0" encoding="UTF-8"?>\n<ListMultipartUploadsResult xmlns="${NS}"><Bucket>${name}</Bucket><IsTruncated>false</IsTruncated>` +
        uploads
          .map(
            (u) =>
              `<Upload><Key>${xmlEscape(u.key)}</Key><UploadId>${u.uploadId}</UploadId><Initiated>${new Date(u.initiated).toISOString()}</Initiated><StorageClass>STANDARD</StorageClass></Upload>`,
          )
          .join('') +
        '</ListMultipartUploadsResult>',
    );
  }
  if (method === 'GET') {
    call.authorize('s3:ListBucket');
    const bucket = store.bucket(name);
    if (query.get('list-type') === '2') {
      const token = query.get('continuation-token') ?? null;
      const startAfter = query.get('start-after') ?? '';
      const after = token !== null ? decodeToken(token) : startAfter;
      return xmlResponse(listV2(bucket, listParams(call, after), token, startAfter));
    }
    return xmlResponse(listV1(bucket, listParams(call, query.get('marker') ?? '')));
  }
  throw new S3Error('MethodNotAllowed', 'The specified method is not allowed against this resource.');
}

async function createBucket(call: S3Call): Promise<Response> {
  call.authorize('s3:CreateBucket');
  if (!validBucketName(call.bucket)) throw new S3Error('InvalidBucketName', 'The specified bucket is not valid.', { BucketName: call.bucket });
  const constraint = call.body.length > 0 ? text(root(call.body.toString('utf8'), 'CreateBucketConfiguration'), 'LocationConstraint') : undefined;
  if (constraint !== undefined && constraint !== call.region)
    throw new S3Error(
      'IllegalLocationConstraintException',
      `The ${constraint} location constraint is incompatible for the region specific endpoint this request was sent to.`,
    );
  if (call.store.buckets.has(call.bucket))
    throw new S3Error('BucketAlreadyOwnedByYou', 'Your previous request to create the named bucket succeeded and you already own it.', {
      BucketName: call.bucket,
    });
  await call.store.createBucket(call.bucket, call.region, call.now);
  return emptyResponse(200, { location: `/${call.bucket}` });
}

async function versioning(call: S3Call): Promise<Response> {
  const bucket = call.store.bucket(call.bucket);
  if (call.method === 'GET') {
    call.authorize('s3:GetBucketVersioning');
    const status = bucket.versioning === 'Unversioned' ? '' : `<Status>${bucket.versioning}</Status>`;
    return xmlResponse(`<?xml version="1.0" encoding="UTF-8"?>\n<VersioningConfiguration xmlns="${NS}">${status}</VersioningConfiguration>`);
  }
  if (call.method !== 'PUT') throw new S3Error('MethodNotAllowed', 'The specified method is not allowed against this resource.');
  call.authorize('s3:PutBucketVersioning');
  const status = text(root(call.body.toString('utf8'), 'VersioningConfiguration'), 'Status');
  if (status !== 'Enabled' && status !== 'Suspended') throw new S3Error('IllegalVersioningConfigurationException', 'The Versioning element must be specified');
  await call.store.setVersioning(call.bucket, status);
  return emptyResponse(200);
}

async function policy(call: S3Call): Promise<Response> {
  const bucket = call.store.bucket(call.bucket);
  if (call.method === 'GET') {
    call.authorize('s3:GetBucketPolicy');
    if (bucket.policy === null) throw new S3Error('NoSuchBucketPolicy', 'The bucket policy does not exist', { BucketName: call.bucket });
    return new Response(bucket.policy, { status: 200, headers: { 'content-type': 'application/json' } });
  }
  if (call.method === 'DELETE') {
    call.authorize('s3:DeleteBucketPolicy');
    bucket.policy = null;
  } else {
    call.authorize('s3:PutBucketPolicy');
    const text = call.body.toString('utf8');
    parseBucketPolicy(text, call.bucket);
    bucket.policy = text;
  }
  await call.store.save(call.bucket);
  return emptyResponse(204);
}

async function lifecycle(call: S3Call): Promise<Response> {
  const bucket = call.store.bucket(call.bucket);
  if (call.method === 'GET') {
    call.authorize('s3:GetLifecycleConfiguration');
    if (bucket.lifecycle === null) throw new S3Error('NoSuchLifecycleConfiguration', 'The lifecycle configuration does not exist', { BucketName: call.bucket });
    return xmlResponse(lifecycleXml(bucket.lifecycle));
  }
  call.authorize('s3:PutLifecycleConfiguration');
  if (call.method === 'DELETE') bucket.lifecycle = null;
  else {
    requireIntegrity(call);
    bucket.lifecycle = parseLifecycle(call.body.toString('utf8'));
  }
  await call.store.save(call.bucket);
  return emptyResponse(call.method === 'DELETE' ? 204 : 200);
}

async function deleteObjects(call: S3Call): Promise<Response> {
  call.store.bucket(call.bucket);
  requireIntegrity(call);
  const doc = root(call.body.toString('utf8'), 'Delete');
  const quiet = text(doc, 'Quiet') === 'true';
  const objects = elements(doc, 'Object').map((o) => ({ key: text(o, 'Key') ?? '', versionId: text(o, 'VersionId') ?? null }));
  if (objects.length === 0 || objects.length > 1000)
    throw new S3Error('MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema.');
  let out = '';
  for (const o of objects) {
    try {
      const r = await deleteOne(call, o.key, o.versionId);
      if (!quiet) {
        out +=
          `<Deleted><Key>${xmlEscape(o.key)}</Key>${o.versionId ? `<VersionId>${xmlEscape(o.versionId)}</VersionId>` : ''}` +
          (r.deleteMarker ? `<DeleteMarker>true</DeleteMarker><DeleteMarkerVersionId>${r.versionId}</DeleteMarkerVersionId>` : '') +
          '</Deleted>';
      }
    } catch (err) {
      if (!(err instanceof S3Error)) throw err;
      out += `<Error><Key>${xmlEscape(o.key)}</Key>${o.versionId ? `<VersionId>${xmlEscape(o.versionId)}</VersionId>` : ''}<Code>${err.code}</Code><Message>${xmlEscape(err.message)}</Message></Error>`;
    }
  }
  return xmlResponse(`<?xml version="1.0" encoding="UTF-8"?>\n<DeleteResult xmlns="${NS}">${out}</DeleteResult>`);
}
