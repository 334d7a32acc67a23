/**
 * AWS Signature Version 4 as S3 servers verify it: the canonical request is
 * rebuilt from what arrived (path re-encoded the way S3 encodes it, query
 * sorted, the signed headers only) and signed again with the secret of the
 * access key the request names. Header auth and presigned (query) auth.
 * Payload modes are judged by the caller (payload.ts); this file only knows
 * what the request claims its payload hash is.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { S3Error } from './errors.ts';

export const ALGORITHM = 'AWS4-HMAC-SHA256';
/** S3 refuses a request whose date is further than this from its own clock. */
const MAX_SKEW_MS = 15 * 60_000;

export interface SignedRequest {
  method: string;
  /** The path as sent, still percent-encoded. */
  rawPath: string;
  /** The query string as sent, without `?`. */
  rawQuery: string;
  headers: Headers;
}

export interface Authentication {
  accessKeyId: string;
  /** yyyymmdd/region/s3/aws4_request */
  scope: string;
  region: string;
  amzDate: string;
  signature: string;
  /** What the signature covers as payload: a hex SHA-256, UNSIGNED-PAYLOAD or a STREAMING-* mode. */
  payloadHash: string;
  signingKey: Buffer;
}

export const sha256Hex = (data: string | Uint8Array) => createHash('sha256').update(data).digest('hex');
const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data).digest();

export function signingKey(secret: string, date: string, region: string, service = 's3'): Buffer {
  return hmac(hmac(hmac(hmac(`AWS4${secret}`, date), region), service), 'aws4_request');
}

/** RFC 3986 unreserved characters stay, everything else is %XX (upper case), as SigV4 demands. */
export function uriEncode(value: string, keepSlash: boolean): string {
  let out = '';
  for (const byte of Buffer.from(value, 'utf8')) {
    const ch = String.fromCharCode(byte);
    if (/[A-Za-z0-9\-._~]/.test(ch) || (keepSlash && ch === '/')) out += ch;
    else out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

const decode = (s: string) => {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new S3Error('InvalidURI', "Couldn't parse the specified URI.");
  }
};

/** S3 (unlike other AWS services) encodes the path once: decode what arrived, encode it again. */
export function canonicalUri(rawPath: string): string {
  return (
    rawPath
      .split('/')
      .map((segment) => uriEncode(decode(segment), false))
      .join('/') || '/'
  );
}

export function parseQuery(rawQuery: string): [string, string][] {
  if (rawQuery === '') return [];
  return rawQuery
    .split('&')
    .filter(Boolean)
    .map((pair) => {
      const eq = pair.indexOf('=');
      const key = eq < 0 ? pair : pair.slice(0, eq);
      const value = eq < 0 ? '' : pair.slice(eq + 1);
      return [decode(key.replace(/\+/g, '%20')), decode(value.replace(/\+/g, '%20'))];
    });
}

function canonicalQuery(pairs: [string, string][]): string {
  return pairs
    .map(([k, v]) => [uriEncode(k, false), uriEncode(v, false)] as const)
    .sort((a, b) => (a[0] === b[0] ? (a[1] < b[1] ? -1 : 1) : a[0] < b[0] ? -1 : 1))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
}

function canonicalHeaders(headers: Headers, signed: string[]): string {
  return signed.map((name) => `${name}:${(headers.get(name) ?? '').trim().replace(/\s+/g, ' ')}\n`).join('');
}

export function canonicalRequest(req: SignedRequest, query: [string, string][], signed: string[], payloadHash: string): string {
  return [req.method, canonicalUri(req.rawPath), canonicalQuery(query), canonicalHeaders(req.headers, signed), signed.join(';'), payloadHash].join('\n');
}

export function stringToSign(amzDate: string, scope: string, canonical: string): string {
  return [ALGORITHM, amzDate, scope, sha256Hex(canonical)].join('\n');
}

interface Claimed {
  accessKeyId: string;
  scope: string;
  region: string;
  date: string;
  signed: string[];
  signature: string;
  amzDate: string;
  payloadHash: string;
  query: [string, string][];
}

function parseCredential(credential: string): { accessKeyId: string; scope: string; region: string; date: string } {
  const parts = credential.split('/');
  if (parts.length !== 5 || parts[3] !== 's3' || parts[4] !== 'aws4_request') {
    throw new S3Error(
      'AuthorizationHeaderMalformed',
      `The authorization header is malformed; the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".`,
    );
  }
  const [accessKeyId, date, region] = parts as [string, string, string];
  return { accessKeyId, date, region, scope: parts.slice(1).join('/') };
}

/** What the request says about itself; null when it carries no signature at all (anonymous). */
export function claimedSignature(req: SignedRequest): Claimed | null {
  const auth = req.headers.get('authorization');
  const query = parseQuery(req.rawQuery);
  if (auth) {
    if (!auth.startsWith(`${ALGORITHM} `)) throw new S3Error('InvalidArgument', 'Unsupported Authorization Type');
    const fields = Object.fromEntries(
      auth
        .slice(ALGORITHM.length + 1)
        .split(',')
        .map((f) => {
          const [k, ...v] = f.trim().split('=');
          return [k ?? '', v.join('=')];
        }),
    );
    if (!fields['Credential'] || !fields['SignedHeaders'] || !fields['Signature']) {
      throw new S3Error('AuthorizationHeaderMalformed', 'The authorization header is malformed.');
    }
    const amzDate = req.headers.get('x-amz-date') ?? '';
    const payloadHash = req.headers.get('x-amz-content-sha256');
    if (!payloadHash) throw new S3Error('InvalidRequest', 'Missing required header for this request: x-amz-content-sha256');
    return {
      ...parseCredential(fields['Credential']),
      signed: fields['SignedHeaders'].split(';'),
      signature: fields['Signature'],
      amzDate,
      payloadHash,
      query,
    };
  }
  // Presigned URLs (X-Amz-Signature in the query) are not used by restic or the adapter: refused rather than half-checked.
  if (query.some(([k]) => k === 'X-Amz-Signature'))
    throw new S3Error('NotImplemented', 'Query-string (presigned) authentication is not implemented by the sandbox.');
  return null;
}

function parseAmzDate(amzDate: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(amzDate);
  if (!m) throw new S3Error('AccessDenied', 'AWS authentication requires a valid Date or x-amz-date header');
  return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
}

/** Verifies the signature with `secretOf(accessKeyId)`; throws the S3 error S3 would answer. */
export function verifySignature(req: SignedRequest, claimed: Claimed, secret: string, now: number): Authentication {
  const at = parseAmzDate(claimed.amzDate);
  if (claimed.amzDate.slice(0, 8) !== claimed.date)
    throw new S3Error(
      'SignatureDoesNotMatch',
      'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
    );
  if (Math.abs(now - at) > MAX_SKEW_MS) throw new S3Error('RequestTimeTooSkewed', 'The difference between the request time and the current time is too large.');
  if (!claimed.signed.includes('host')) throw new S3Error('AccessDenied', 'Host header is not signed');
  const canonical = canonicalRequest(req, claimed.query, claimed.signed, claimed.payloadHash);
  const key = signingKey(secret, claimed.date, claimed.region);
  const expected = createHmac('sha256', key)
    .update(stringToSign(claimed.amzDate, `${claimed.scope}`, canonical))
    .digest('hex');
  const given = Buffer.from(claimed.signature, 'utf8');
  if (given.length !== expected.length || !timingSafeEqual(given, Buffer.from(expected, 'utf8'))) {
    throw new S3Error(
      'SignatureDoesNotMatch',
      'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
    );
  }
  return {
    accessKeyId: claimed.accessKeyId,
    scope: claimed.scope,
    region: claimed.region,
    amzDate: claimed.amzDate,
    signature: claimed.signature,
    payloadHash: claimed.payloadHash,
    signingKey: key,
  };
}
