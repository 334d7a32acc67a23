/**
 * The body of a signed request, in the payload mode its signature names:
 * - a hex SHA-256: the body must hash to it (the AWS SDK over HTTPS, small XML bodies);
 * - UNSIGNED-PAYLOAD: taken as is (minio-go over HTTPS, presigned URLs);
 * - STREAMING-AWS4-HMAC-SHA256-PAYLOAD: aws-chunked, each chunk signed and chained
 *   to the previous signature (minio-go's PutObject over plain HTTP, hence restic's);
 * - STREAMING-UNSIGNED-PAYLOAD-TRAILER: aws-chunked without signatures, a checksum trailer
 *   (the AWS SDK's flexible checksums on streamed bodies).
 */
import { createHmac } from 'node:crypto';
import { S3Error } from './errors.ts';
import { sha256Hex, type Authentication } from './sigv4.ts';

const EMPTY_SHA256 = sha256Hex('');

export function decodePayload(body: Buffer, auth: Authentication, headers: Headers): Buffer {
  const mode = auth.payloadHash;
  if (mode === 'UNSIGNED-PAYLOAD') return body;
  if (/^[0-9a-f]{64}$/.test(mode)) {
    if (sha256Hex(body) !== mode)
      throw new S3Error('XAmzContentSHA256Mismatch', "The provided 'x-amz-content-sha256' header does not match what was computed.");
    return body;
  }
  if (mode === 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD') return checkLength(decodeChunks(body, auth), headers);
  if (mode === 'STREAMING-UNSIGNED-PAYLOAD-TRAILER') return checkLength(decodeChunks(body, null), headers);
  throw new S3Error('NotImplemented', `The payload mode ${mode} is not implemented.`);
}

function checkLength(data: Buffer, headers: Headers): Buffer {
  const declared = headers.get('x-amz-decoded-content-length');
  if (declared === null) throw new S3Error('MissingContentLength', 'You must provide the Content-Length HTTP header.');
  if (Number(declared) !== data.length)
    throw new S3Error('IncompleteBody', 'You did not provide the number of bytes specified by the Content-Length HTTP header.');
  return data;
}

/** `hex-size[;chunk-signature=sig]\r\n data \r\n` … until a zero-size chunk (then trailers, ignored). */
function decodeChunks(body: Buffer, auth: Authentication | null): Buffer {
  const parts: Buffer[] = [];
  let previous = auth?.signature ?? '';
  let at = 0;
  for (;;) {
    const eol = body.indexOf('\r\n', at);
    if (eol < 0) throw new S3Error('IncompleteBody', 'The request body ended before its last chunk.');
    const header = body.subarray(at, eol).toString('latin1');
    const [sizeHex, ...params] = header.split(';');
    const size = Number.parseInt(sizeHex ?? '', 16);
    if (!Number.isFinite(size) || size < 0) throw new S3Error('InvalidRequest', 'Malformed chunk header.');
    const start = eol + 2;
    const data = body.subarray(start, start + size);
    if (data.length !== size) throw new S3Error('IncompleteBody', 'The request body ended inside a chunk.');
    if (auth) {
      const claimed = params.find((p) => p.startsWith('chunk-signature='))?.slice('chunk-signature='.length);
      const toSign = ['AWS4-HMAC-SHA256-PAYLOAD', auth.amzDate, auth.scope, previous, EMPTY_SHA256, sha256Hex(data)].join('\n');
      const expected = createHmac('sha256', auth.signingKey).update(toSign).digest('hex');
      if (claimed !== expected)
        throw new S3Error(
          'SignatureDoesNotMatch',
          'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
        );
      previous = expected;
    }
    if (size === 0) break;
    parts.push(data);
    at = start + size;
    if (body.subarray(at, at + 2).toString('latin1') !== '\r\n') throw new S3Error('InvalidRequest', 'Malformed chunk: missing CRLF after its data.');
    at += 2;
  }
  return Buffer.concat(parts);
}
