/**
 * Bucket listings: ListObjectsV2 (continuation tokens), ListObjects (V1,
 * markers) and ListObjectVersions, with prefix, delimiter (common prefixes
 * count towards max-keys, as in S3), max-keys capped at 1000, and
 * `encoding-type=url` (minio-go asks for it and decodes every key).
 */
import { S3Error, xmlEscape } from './errors.ts';
import type { Bucket, ObjectVersion } from './model.ts';
import { uriEncode } from './sigv4.ts';

const NS = 'http://s3.amazonaws.com/doc/2006-03-01/';
const iso = (ms: number) => new Date(ms).toISOString();

export interface ListParams {
  prefix: string;
  delimiter: string;
  maxKeys: number;
  after: string;
  urlEncode: boolean;
}

export function maxKeysOf(value: string | undefined): number {
  if (value === undefined || value === '') return 1000;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0)
    throw new S3Error('InvalidArgument', 'max-keys must be a non-negative integer', { ArgumentName: 'max-keys', ArgumentValue: value });
  return Math.min(n, 1000);
}

type Entry = { kind: 'object'; version: ObjectVersion } | { kind: 'prefix'; prefix: string };

/** The current (non-deleted) objects after `after`, folded into common prefixes; `after` may be a prefix already returned. */
function walk(bucket: Bucket, p: ListParams): { entries: Entry[]; truncated: boolean; last: string } {
  const keys = Object.keys(bucket.objects)
    .filter((k) => k.startsWith(p.prefix))
    .sort();
  const entries: Entry[] = [];
  let last = '';
  for (const key of keys) {
    if (key <= p.after || (p.after.endsWith(p.delimiter) && p.delimiter !== '' && key.startsWith(p.after))) continue;
    const current = bucket.objects[key]![0]!;
    if (current.deleteMarker) continue;
    let entry: Entry = { kind: 'object', version: current };
    if (p.delimiter !== '') {
      const at = key.indexOf(p.delimiter, p.prefix.length);
      if (at >= 0) {
        const prefix = key.slice(0, at + p.delimiter.length);
        if (entries.length > 0 && last === prefix) continue;
        entry = { kind: 'prefix', prefix };
      }
    }
    if (entries.length >= p.maxKeys) return { entries, truncated: true, last };
    entries.push(entry);
    last = entry.kind === 'prefix' ? entry.prefix : key;
  }
  return { entries, truncated: false, last };
}

const enc = (s: string, p: ListParams) => xmlEscape(p.urlEncode ? uriEncode(s, true) : s);

function body(entries: Entry[], p: ListParams): string {
  return entries
    .map((e) =>
      e.kind === 'prefix'
        ? `<CommonPrefixes><Prefix>${enc(e.prefix, p)}</Prefix></CommonPrefixes>`
        : `<Contents><Key>${enc(e.version.key, p)}</Key><LastModified>${iso(e.version.lastModified)}</LastModified><ETag>${xmlEscape(e.version.etag)}</ETag>` +
          `<Size>${e.version.size}</Size><StorageClass>STANDARD</StorageClass></Contents>`,
    )
    .join('');
}

const header = (bucket: Bucket, p: ListParams) =>
  `<Name>${xmlEscape(bucket.name)}</Name><Prefix>${enc(p.prefix, p)}</Prefix><MaxKeys>${p.maxKeys}</MaxKeys>` +
  (p.delimiter ? `<Delimiter>${enc(p.delimiter, p)}</Delimiter>` : '') +
  (p.urlEncode ? '<EncodingType>url</EncodingType>' : '');

export const encodeToken = (after: string) => Buffer.from(after, 'utf8').toString('base64url');
export function decodeToken(token: string): string {
  const after = Buffer.from(token, 'base64url').toString('utf8');
  if (encodeToken(after) !== token)
    throw new S3Error('InvalidArgument', 'The continuation token provided is incorrect', { ArgumentName: 'continuation-token' });
  return after;
}

export function listV2(bucket: Bucket, p: ListParams, token: string | null, startAfter: string): string {
  const { entries, truncated, last } = walk(bucket, p);
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult xmlns="${NS}">${header(bucket, p)}<KeyCount>${entries.length}</KeyCount>` +
    `<IsTruncated>${truncated}</IsTruncated>` +
    (token !== null ? `<ContinuationToken>${xmlEscape(token)}</ContinuationToken>` : '') +
    (truncated ? `<NextContinuationToken>${encodeToken(last)}</NextContinuationToken>` : '') +
    (startAfter ? `<StartAfter>${enc(startAfter, p)}</StartAfter>` : '') +
    body(entries, p) +
    '</ListBucketResult>'
  );
}

export function listV1(bucket: Bucket, p: ListParams): string {
  const { entries, truncated, last } = walk(bucket, p);
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult xmlns="${NS}">${header(bucket, p)}<Marker>${enc(p.after, p)}</Marker>` +
    `<IsTruncated>${truncated}</IsTruncated>` +
    (truncated ? `<NextMarker>${enc(last, p)}</NextMarker>` : '') +
    body(entries, p) +
    '</ListBucketResult>'
  );
}

/** Every version and delete marker, by key then newest first, after (keyMarker, versionIdMarker). */
export function listVersions(bucket: Bucket, p: ListParams, keyMarker: string, versionIdMarker: string): string {
  const all = Object.keys(bucket.objects)
    .filter((k) => k.startsWith(p.prefix))
    .sort()
    .flatMap((k) => bucket.objects[k]!.map((v, i) => ({ v, latest: i === 0 })));
  let start = 0;
  if (keyMarker !== '') {
    const marked = versionIdMarker !== '' ? all.findIndex(({ v }) => v.key === keyMarker && v.versionId === versionIdMarker) : -1;
    start = marked >= 0 ? marked + 1 : all.findIndex(({ v }) => v.key > keyMarker);
    if (start < 0) start = all.length;
  }
  const page = all.slice(start, start + p.maxKeys);
  const truncated = start + p.maxKeys < all.length;
  const lastOne = page[page.length - 1]?.v;
  const items = page
    .map(({ v, latest }) =>
      v.deleteMarker
        ? `<DeleteMarker><Key>${enc(v.key, p)}</Key><VersionId>${v.versionId}</VersionId><IsLatest>${latest}</IsLatest><LastModified>${iso(v.lastModified)}</LastModified></DeleteMarker>`
        : `<Version><Key>${enc(v.key, p)}</Key><VersionId>${v.versionId}</VersionId><IsLatest>${latest}</IsLatest><LastModified>${iso(v.lastModified)}</LastModified>` +
          `<ETag>${xmlEscape(v.etag)}</ETag><Size>${v.size}</Size><StorageClass>STANDARD</StorageClass></Version>`,
    )
    .join('');
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n<ListVersionsResult xmlns="${NS}">${header(bucket, p)}<KeyMarker>${enc(keyMarker, p)}</KeyMarker>` +
    `<VersionIdMarker>${xmlEscape(versionIdMarker)}</VersionIdMarker><IsTruncated>${truncated}</IsTruncated>` +
    (truncated && lastOne ? `<NextKeyMarker>${enc(lastOne.key, p)}</NextKeyMarker><NextVersionIdMarker>${lastOne.versionId}</NextVersionIdMarker>` : '') +
    items +
    '</ListVersionsResult>'
  );
}
