/**
 * S3 errors as the service sends them: an HTTP status fixed by the code, an
 * XML body `<Error><Code/><Message/>…<RequestId/></Error>` and the request id
 * in `x-amz-request-id` (clients such as minio-go and the AWS SDK read the code
 * from the body; a HEAD answer has no body, so they fall back to the status).
 */
import { randomBytes } from 'node:crypto';

const STATUS: Record<string, number> = {
  AccessDenied: 403,
  AuthorizationHeaderMalformed: 400,
  AuthorizationQueryParametersError: 400,
  BadDigest: 400,
  BucketAlreadyExists: 409,
  BucketAlreadyOwnedByYou: 409,
  BucketNotEmpty: 409,
  EntityTooSmall: 400,
  IllegalVersioningConfigurationException: 400,
  IncompleteBody: 400,
  InternalError: 500,
  InvalidAccessKeyId: 403,
  InvalidArgument: 400,
  InvalidBucketName: 400,
  InvalidDigest: 400,
  InvalidPart: 400,
  InvalidPartOrder: 400,
  InvalidRange: 416,
  InvalidRequest: 400,
  InvalidURI: 400,
  MalformedPolicy: 400,
  MalformedXML: 400,
  MethodNotAllowed: 405,
  MissingContentLength: 411,
  NoSuchBucket: 404,
  NoSuchBucketPolicy: 404,
  NoSuchKey: 404,
  NoSuchLifecycleConfiguration: 404,
  NoSuchUpload: 404,
  NoSuchVersion: 404,
  NotImplemented: 501,
  RequestTimeTooSkewed: 403,
  SignatureDoesNotMatch: 403,
  SlowDown: 503,
  XAmzContentSHA256Mismatch: 400,
};

export class S3Error extends Error {
  readonly code: string;
  readonly status: number;
  /** Extra elements of the error body, e.g. BucketName or Key. */
  readonly extra: Record<string, string>;

  constructor(code: string, message: string, extra: Record<string, string> = {}) {
    super(message);
    this.code = code;
    this.status = STATUS[code] ?? 400;
    this.extra = extra;
  }
}

export const noSuchBucket = (bucket: string) => new S3Error('NoSuchBucket', 'The specified bucket does not exist', { BucketName: bucket });
export const noSuchKey = (key: string) => new S3Error('NoSuchKey', 'The specified key does not exist.', { Key: key });
export const accessDenied = () => new S3Error('AccessDenied', 'Access Denied');

export function xmlEscape(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

/** Scaleway's request ids look like `tx` + hex + `-` + hex. */
export function newRequestId(): string {
  return `tx${randomBytes(12).toString('hex')}-${randomBytes(5).toString('hex')}`;
}

export function errorXml(err: S3Error, requestId: string, resource: string): string {
  const extra = Object.entries(err.extra)
    .map(([k, v]) => `<${k}>${xmlEscape(v)}</${k}>`)
    .join('');
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${err.code}</Code><Message>${xmlEscape(err.message)}</Message>${extra}` +
    `<Resource>${xmlEscape(resource)}</Resource><RequestId>${requestId}</RequestId></Error>`
  );
}
