/**
 * One S3 request from the wire to its answer: find the bucket (path-style
 * `/bucket/key` or virtual-hosted `bucket.s3.<region>.scw.cloud`), identify
 * the caller by SigV4 (unknown key → InvalidAccessKeyId, wrong secret →
 * SignatureDoesNotMatch, no signature → AccessDenied: nothing is public),
 * check the region the request was signed for against the bucket's, decode
 * the payload, then run the bucket or object operation with an `authorize`
 * that applies IAM and the bucket policy.
 */
import { noSuchBucket, newRequestId, errorXml, S3Error, xmlEscape } from './errors.ts';
import { bucketOperation } from './bucket-ops.ts';
import type { BucketStore } from './bucket-store.ts';
import type { S3Call } from './call.ts';
import type { IamState } from './iam.ts';
import { REGIONS } from './model.ts';
import { objectOperation } from './object-ops.ts';
import { decodePayload } from './payload.ts';
import { authorize } from './policy.ts';
import { claimedSignature, parseQuery, verifySignature } from './sigv4.ts';

export interface S3HandlerDeps {
  store: BucketStore;
  iam: IamState;
  /** The project the buckets belong to (IAM rules are scoped to projects). */
  projectId: string;
  now: () => number;
}

const VIRTUAL_HOST = /^([a-z0-9][a-z0-9.-]*[a-z0-9])\.(?:s3\.(?:fr-par|nl-ams|pl-waw)\.|localhost$)/;

function locate(host: string, rawPath: string): { bucket: string; key: string } {
  const hostname = host.replace(/:\d+$/, '').toLowerCase();
  const decode = (s: string) => {
    try {
      return decodeURIComponent(s);
    } catch {
      throw new S3Error('InvalidURI', "Couldn't parse the specified URI.");
    }
  };
  const virtual = VIRTUAL_HOST.exec(hostname);
  if (virtual) return { bucket: virtual[1]!, key: decode(rawPath.replace(/^\//, '')) };
  const [, bucket = '', ...rest] = rawPath.split('/');
  return { bucket: decode(bucket), key: decode(rest.join('/')) };
}

export async function handleS3(deps: S3HandlerDeps, request: Request, rawUrl: string): Promise<Response> {
  const requestId = newRequestId();
  const q = rawUrl.indexOf('?');
  const rawPath = q < 0 ? rawUrl : rawUrl.slice(0, q);
  const rawQuery = q < 0 ? '' : rawUrl.slice(q + 1);
  let resource = rawPath;
  try {
    const { bucket, key } = locate(request.headers.get('host') ?? '', rawPath);
    resource = key ? `/${bucket}/${key}` : `/${bucket}`;
    const signed = { method: request.method, rawPath, rawQuery, headers: request.headers };
    const claimed = claimedSignature(signed);
    if (!claimed) throw new S3Error('AccessDenied', 'Access Denied');
    const now = deps.now();
    const who = deps.iam.principalOf(claimed.accessKeyId, deps.projectId, now);
    if (!who)
      throw new S3Error('InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.', { AWSAccessKeyId: claimed.accessKeyId });
    const auth = verifySignature(signed, claimed, who.secret, now);
    if (!(REGIONS as readonly string[]).includes(auth.region)) {
      throw new S3Error(
        'AuthorizationHeaderMalformed',
        `The authorization header is malformed; the region '${auth.region}' is wrong; expecting one of '${REGIONS.join("', '")}'`,
      );
    }
    const existing = bucket ? deps.store.buckets.get(bucket) : undefined;
    if (existing && existing.region !== auth.region) {
      throw new S3Error(
        'AuthorizationHeaderMalformed',
        `The authorization header is malformed; the region '${auth.region}' is wrong; expecting '${existing.region}'`,
        { Region: existing.region },
      );
    }
    const body = decodePayload(Buffer.from(await request.arrayBuffer()), auth, request.headers);
    const call: S3Call = {
      method: request.method,
      store: deps.store,
      now,
      principal: who.principal,
      region: auth.region,
      bucket,
      key,
      query: new Map(parseQuery(rawQuery)),
      headers: request.headers,
      body,
      authorize: (action, objectKey) =>
        authorize(who.principal, action, objectKey === undefined ? bucket : `${bucket}/${objectKey}`, existing?.policy ?? null, bucket),
    };
    const response = !bucket ? listBuckets(call) : key ? await objectOperation(call) : await bucketOperation(call);
    response.headers.set('x-amz-request-id', requestId);
    return response;
  } catch (err) {
    const e = err instanceof S3Error ? err : new S3Error('InternalError', 'We encountered an internal error. Please try again.');
    const headers: Record<string, string> = { 'x-amz-request-id': requestId, 'content-type': 'application/xml' };
    if (e.code === 'InvalidRange' && e.extra['ActualObjectSize']) headers['content-range'] = `bytes */${e.extra['ActualObjectSize']}`;
    // A HEAD answer carries no body: clients judge it by the status alone.
    return new Response(request.method === 'HEAD' ? null : errorXml(e, requestId, resource), { status: e.status, headers });
  }
}

function listBuckets(call: S3Call): Response {
  if (call.method !== 'GET') throw noSuchBucket('');
  call.authorize('s3:ListAllMyBuckets');
  const buckets = [...call.store.buckets.values()]
    .filter((b) => b.region === call.region)
    .map((b) => `<Bucket><Name>${xmlEscape(b.name)}</Name><CreationDate>${new Date(b.created).toISOString()}</CreationDate></Bucket>`)
    .join('');
  return new Response(
    `<?xml version="1.0" encoding="UTF-8"?>\n<ListAllMyBucketsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Owner><ID>${call.principal.id}</ID></Owner><Buckets>${buckets}</Buckets></ListAllMyBucketsResult>`,
    { status: 200, headers: { 'content-type': 'application/xml' } },
  );
}
