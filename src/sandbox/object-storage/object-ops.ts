/**
 * Object operations: PUT, GET (with Range), HEAD, DELETE (delete markers on a
 * versioned bucket, permanent removal of a named version) and multipart
 * uploads. A version id in the request is a separate action in the policy
 * (s3:GetObjectVersion, s3:DeleteObjectVersion), which is what lets a bucket
 * policy give a server "write and read" without "destroy history".
 */
import { createHash, randomBytes } from 'node:crypto';
import { noSuchKey, S3Error, xmlEscape } from './errors.ts';
import { emptyResponse, xmlResponse, type S3Call } from './call.ts';
import type { Bucket, ObjectVersion } from './model.ts';
import { elements, root, text } from './xml.ts';

const NS = 'http://s3.amazonaws.com/doc/2006-03-01/';
const MIN_PART = 5 * 1024 * 1024;
const md5 = (data: Buffer) => createHash('md5').update(data).digest();

function userMetadata(headers: Headers): Record<string, string> {
  const meta: Record<string, string> = {};
  headers.forEach((value, name) => {
    if (name.startsWith('x-amz-meta-')) meta[name] = value;
  });
  return meta;
}

const versionHeader = (bucket: Bucket, v: ObjectVersion): Record<string, string> =>
  bucket.versioning === 'Unversioned' ? {} : { 'x-amz-version-id': v.versionId };

export async function objectOperation(call: S3Call): Promise<Response> {
  const { method, query } = call;
  if (method === 'PUT' && query.has('uploadId')) return uploadPart(call);
  if (method === 'PUT') {
    if (call.headers.has('x-amz-copy-source')) throw new S3Error('NotImplemented', 'CopyObject is not implemented by the sandbox.');
    call.authorize('s3:PutObject', call.key);
    const bucket = call.store.bucket(call.bucket);
    const digest = call.headers.get('content-md5');
    if (digest !== null && md5(call.body).toString('base64') !== digest)
      throw new S3Error('BadDigest', 'The Content-MD5 you specified did not match what we received.');
    const v = await call.store.putVersion(
      call.bucket,
      {
        key: call.key,
        deleteMarker: false,
        size: call.body.length,
        etag: `"${md5(call.body).toString('hex')}"`,
        lastModified: call.now,
        contentType: call.headers.get('content-type') ?? 'application/octet-stream',
        metadata: userMetadata(call.headers),
        blob: await call.store.writeBlob(call.body),
      },
      call.now,
    );
    return emptyResponse(200, { etag: v.etag, ...versionHeader(bucket, v) });
  }
  if (method === 'GET' || method === 'HEAD') return getObject(call);
  if (method === 'DELETE' && query.has('uploadId')) {
    call.authorize('s3:AbortMultipartUpload', call.key);
    const bucket = call.store.bucket(call.bucket);
    const upload = uploadOf(bucket, query.get('uploadId')!);
    delete bucket.uploads[upload.uploadId];
    await call.store.save(call.bucket);
    await call.store.dropBlobs(Object.values(upload.parts).map((p) => p.blob));
    return emptyResponse(204);
  }
  if (method === 'DELETE') {
    const r = await deleteOne(call, call.key, query.get('versionId') ?? null);
    return emptyResponse(204, { ...(r.deleteMarker ? { 'x-amz-delete-marker': 'true' } : {}), ...(r.versionId ? { 'x-amz-version-id': r.versionId } : {}) });
  }
  if (method === 'POST' && query.has('uploads')) {
    call.authorize('s3:PutObject', call.key);
    const bucket = call.store.bucket(call.bucket);
    const uploadId = randomBytes(24).toString('base64url');
    bucket.uploads[uploadId] = {
      uploadId,
      key: call.key,
      initiated: call.now,
      contentType: call.headers.get('content-type') ?? 'application/octet-stream',
      metadata: userMetadata(call.headers),
      parts: {},
    };
    await call.store.save(call.bucket);
    return xmlResponse(
      `<?xml version="1.0" encoding="UTF-8"?>\n<InitiateMultipartUploadResult xmlns="${NS}"><Bucket>${call.bucket}</Bucket><Key>${xmlEscape(call.key)}</Key><UploadId>${uploadId}</UploadId></InitiateMultipartUploadResult>`,
    );
  }
  if (method === 'POST' && query.has('uploadId')) return completeUpload(call);
  throw new S3Error('MethodNotAllowed', 'The specified method is not allowed against this resource.');
}

/** DELETE of one key, shared by DeleteObject and DeleteObjects. */
export async function deleteOne(call: S3Call, key: string, versionId: string | null): Promise<{ deleteMarker: boolean; versionId: string | null }> {
  if (versionId !== null) {
    call.authorize('s3:DeleteObjectVersion', key);
    const removed = await call.store.removeVersion(call.bucket, key, versionId);
    return { deleteMarker: removed?.deleteMarker ?? false, versionId };
  }
  call.authorize('s3:DeleteObject', key);
  const bucket = call.store.bucket(call.bucket);
  if (bucket.versioning === 'Unversioned') {
    await call.store.removeVersion(call.bucket, key, 'null');
    return { deleteMarker: false, versionId: null };
  }
  const marker = await call.store.putVersion(
    call.bucket,
    { key, deleteMarker: true, size: 0, etag: '', lastModified: call.now, contentType: '', metadata: {}, blob: null },
    call.now,
  );
  return { deleteMarker: true, versionId: marker.versionId };
}

async function getObject(call: S3Call): Promise<Response> {
  const versionId = call.query.get('versionId') ?? null;
  call.authorize(versionId !== null ? 's3:GetObjectVersion' : 's3:GetObject', call.key);
  const bucket = call.store.bucket(call.bucket);
  const versions = bucket.objects[call.key] ?? [];
  const v = versionId !== null ? versions.find((x) => x.versionId === versionId) : versions[0];
  if (!v)
    throw versionId !== null
      ? new S3Error('NoSuchVersion', 'The specified version does not exist.', { Key: call.key, VersionId: versionId })
      : noSuchKey(call.key);
  if (v.deleteMarker) {
    if (versionId !== null) throw new S3Error('MethodNotAllowed', 'The specified method is not allowed against this resource.');
    throw noSuchKey(call.key);
  }
  const headers: Record<string, string> = {
    'content-type': v.contentType,
    etag: v.etag,
    'last-modified': new Date(v.lastModified).toUTCString(),
    'accept-ranges': 'bytes',
    ...v.metadata,
    ...versionHeader(bucket, v),
  };
  const range = call.headers.get('range');
  let start = 0;
  let end = v.size - 1;
  if (range !== null) {
    const m = /^bytes=(\d*)-(\d*)$/.exec(range.trim());
    if (m && (m[1] !== '' || m[2] !== '')) {
      if (m[1] === '') {
        start = Math.max(0, v.size - Number(m[2]));
      } else {
        start = Number(m[1]);
        if (m[2] !== '') end = Math.min(end, Number(m[2]));
      }
      if (start >= v.size || start > end) {
        throw new S3Error('InvalidRange', 'The requested range is not satisfiable', { RangeRequested: range, ActualObjectSize: String(v.size) });
      }
      headers['content-range'] = `bytes ${start}-${end}/${v.size}`;
    }
  }
  const status = headers['content-range'] ? 206 : 200;
  headers['content-length'] = String(end - start + 1);
  if (call.method === 'HEAD') return new Response(null, { status, headers });
  const data = v.blob ? await call.store.readBlob(v.blob) : Buffer.alloc(0);
  return new Response(new Uint8Array(data.subarray(start, end + 1)), { status, headers });
}

function uploadOf(bucket: Bucket, uploadId: string) {
  const upload = bucket.uploads[uploadId];
  if (!upload)
    throw new S3Error('NoSuchUpload', 'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.', {
      UploadId: uploadId,
    });
  return upload;
}

async function uploadPart(call: S3Call): Promise<Response> {
  call.authorize('s3:PutObject', call.key);
  const bucket = call.store.bucket(call.bucket);
  const upload = uploadOf(bucket, call.query.get('uploadId')!);
  const partNumber = Number(call.query.get('partNumber'));
  if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > 10_000)
    throw new S3Error('InvalidArgument', 'Part number must be an integer between 1 and 10000, inclusive', { ArgumentName: 'partNumber' });
  const previous = upload.parts[partNumber];
  const etag = `"${md5(call.body).toString('hex')}"`;
  upload.parts[partNumber] = { partNumber, etag, size: call.body.length, blob: await call.store.writeBlob(call.body), lastModified: call.now };
  await call.store.save(call.bucket);
  if (previous) await call.store.dropBlobs([previous.blob]);
  return emptyResponse(200, { etag });
}

async function completeUpload(call: S3Call): Promise<Response> {
  call.authorize('s3:PutObject', call.key);
  const bucket = call.store.bucket(call.bucket);
  const upload = uploadOf(bucket, call.query.get('uploadId')!);
  const listed = elements(root(call.body.toString('utf8'), 'CompleteMultipartUpload'), 'Part').map((p) => ({
    n: Number(text(p, 'PartNumber')),
    etag: text(p, 'ETag') ?? '',
  }));
  if (listed.length === 0) throw new S3Error('MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema.');
  const parts = listed.map(({ n, etag }, i) => {
    if (i > 0 && n <= listed[i - 1]!.n)
      throw new S3Error('InvalidPartOrder', 'The list of parts was not in ascending order. Parts must be ordered by part number.');
    const part = upload.parts[n];
    if (!part || part.etag.replace(/"/g, '') !== etag.replace(/"/g, ''))
      throw new S3Error(
        'InvalidPart',
        "One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.",
      );
    if (i < listed.length - 1 && part.size < MIN_PART)
      throw new S3Error('EntityTooSmall', 'Your proposed upload is smaller than the minimum allowed object size.');
    return part;
  });
  const data = Buffer.concat(await Promise.all(parts.map((p) => call.store.readBlob(p.blob))));
  const etag = `"${md5(Buffer.concat(parts.map((p) => Buffer.from(p.etag.replace(/"/g, ''), 'hex')))).toString('hex')}-${parts.length}"`;
  delete bucket.uploads[upload.uploadId];
  const v = await call.store.putVersion(
    call.bucket,
    {
      key: call.key,
      deleteMarker: false,
      size: data.length,
      etag,
      lastModified: call.now,
      contentType: upload.contentType,
      metadata: upload.metadata,
      blob: await call.store.writeBlob(data),
    },
    call.now,
  );
  await call.store.dropBlobs(Object.values(upload.parts).map((p) => p.blob));
  return xmlResponse(
    `<?xml version="1.0" encoding="UTF-8"?>\n<CompleteMultipartUploadResult xmlns="${NS}"><Location>/${call.bucket}/${xmlEscape(call.key)}</Location>` +
      `<Bucket>${call.bucket}</Bucket><Key>${xmlEscape(call.key)}</Key><ETag>${xmlEscape(etag)}</ETag></CompleteMultipartUploadResult>`,
    200,
    versionHeader(bucket, v),
  );
}
