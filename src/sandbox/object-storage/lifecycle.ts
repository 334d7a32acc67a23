/**
 * Lifecycle rules: the subset a backup bucket needs and Scaleway supports —
 * expire noncurrent versions N days after they became noncurrent, abort
 * incomplete multipart uploads, remove expired delete markers — and the sweep
 * that applies them. The provider runs it in the background about daily; the
 * emulator runs it on a timer and on demand, against its injectable clock, so
 * a test can move time forward and watch versions go.
 */
import { S3Error, xmlEscape } from './errors.ts';
import type { BucketStore } from './bucket-store.ts';
import type { LifecycleRule } from './model.ts';
import { elements, root, text } from './xml.ts';

const DAY_MS = 86_400_000;
const malformed = () => new S3Error('MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema.');

function days(value: string | undefined): number | null {
  if (value === undefined) return null;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new S3Error('InvalidArgument', "'Days' for Expiration action must be a positive integer");
  return n;
}

export function parseLifecycle(xml: string): LifecycleRule[] {
  const rules = elements(root(xml, 'LifecycleConfiguration'), 'Rule').map((r): LifecycleRule => {
    const status = text(r, 'Status');
    if (status !== 'Enabled' && status !== 'Disabled') throw malformed();
    const filter = elements(r, 'Filter')[0];
    const noncurrent = elements(r, 'NoncurrentVersionExpiration')[0];
    const abort = elements(r, 'AbortIncompleteMultipartUpload')[0];
    const expiration = elements(r, 'Expiration')[0];
    const rule: LifecycleRule = {
      id: text(r, 'ID') ?? '',
      enabled: status === 'Enabled',
      prefix: (filter !== undefined ? text(filter, 'Prefix') : text(r, 'Prefix')) ?? '',
      noncurrentDays: noncurrent !== undefined ? days(text(noncurrent, 'NoncurrentDays')) : null,
      abortIncompleteDays: abort !== undefined ? days(text(abort, 'DaysAfterInitiation')) : null,
      expiredObjectDeleteMarker: expiration !== undefined && text(expiration, 'ExpiredObjectDeleteMarker') === 'true',
    };
    if (rule.noncurrentDays === null && rule.abortIncompleteDays === null && !rule.expiredObjectDeleteMarker) throw malformed();
    return rule;
  });
  if (rules.length === 0 || rules.length > 1000) throw malformed();
  return rules;
}

export function lifecycleXml(rules: LifecycleRule[]): string {
  const body = rules
    .map(
      (r) =>
        `<Rule><ID>${xmlEscape(r.id)}</ID><Filter><Prefix>${xmlEscape(r.prefix)}</Prefix></Filter><Status>${r.enabled ? 'Enabled' : 'Disabled'}</Status>` +
        (r.expiredObjectDeleteMarker ? '<Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration>' : '') +
        (r.noncurrentDays !== null ? `<NoncurrentVersionExpiration><NoncurrentDays>${r.noncurrentDays}</NoncurrentDays></NoncurrentVersionExpiration>` : '') +
        (r.abortIncompleteDays !== null
          ? `<AbortIncompleteMultipartUpload><DaysAfterInitiation>${r.abortIncompleteDays}</DaysAfterInitiation></AbortIncompleteMultipartUpload>`
          : '') +
        '</Rule>',
    )
    .join('');
  return `<?xml version="1.0" encoding="UTF-8"?>\n<LifecycleConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${body}</LifecycleConfiguration>`;
}

/** Applies every enabled rule of every bucket as of `now`; returns how many versions and uploads went. */
export async function sweepLifecycle(store: BucketStore, now: number): Promise<number> {
  let removed = 0;
  for (const bucket of [...store.buckets.values()]) {
    for (const rule of (bucket.lifecycle ?? []).filter((r) => r.enabled)) {
      for (const key of Object.keys(bucket.objects).filter((k) => k.startsWith(rule.prefix))) {
        for (const v of [...(bucket.objects[key] ?? [])]) {
          const expired = rule.noncurrentDays !== null && v.noncurrentSince !== null && v.noncurrentSince + rule.noncurrentDays * DAY_MS <= now;
          if (expired && (await store.removeVersion(bucket.name, key, v.versionId))) removed++;
        }
        const left = bucket.objects[key];
        // A delete marker with nothing under it any more is "expired": it hides nothing.
        if (rule.expiredObjectDeleteMarker && left?.length === 1 && left[0]!.deleteMarker && (await store.removeVersion(bucket.name, key, left[0]!.versionId)))
          removed++;
      }
      if (rule.abortIncompleteDays !== null) {
        for (const upload of Object.values(bucket.uploads)) {
          if (!upload.key.startsWith(rule.prefix) || upload.initiated + rule.abortIncompleteDays * DAY_MS > now) continue;
          delete bucket.uploads[upload.uploadId];
          await store.save(bucket.name);
          await store.dropBlobs(Object.values(upload.parts).map((p) => p.blob));
          removed++;
        }
      }
    }
  }
  return removed;
}
