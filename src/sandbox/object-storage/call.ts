/** One authenticated S3 request, as the bucket and object operations see it. */
import type { BucketStore } from './bucket-store.ts';
import type { Principal } from './policy.ts';

export interface S3Call {
  method: string;
  store: BucketStore;
  now: number;
  principal: Principal;
  /** The region the request was signed for. */
  region: string;
  bucket: string;
  key: string;
  query: Map<string, string>;
  headers: Headers;
  body: Buffer;
  /** Throws AccessDenied unless the caller may do `action` on the bucket (no key) or on `key`. */
  authorize(action: string, key?: string): void;
}

export function xmlResponse(body: string, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(body, { status, headers: { 'content-type': 'application/xml', ...headers } });
}

export function emptyResponse(status = 200, headers: Record<string, string> = {}): Response {
  return new Response(null, { status, headers });
}
