/** The object storage emulator's data: buckets, object versions (newest first per key), multipart uploads. */

export type Versioning = 'Unversioned' | 'Enabled' | 'Suspended';

export interface ObjectVersion {
  key: string;
  /** 'null' for objects written while versioning was off or suspended, as S3 names them. */
  versionId: string;
  deleteMarker: boolean;
  size: number;
  /** Quoted, as in the ETag header. */
  etag: string;
  lastModified: number;
  contentType: string;
  metadata: Record<string, string>;
  /** When a newer version (or a delete marker) went on top of it: the lifecycle's noncurrent clock. */
  noncurrentSince: number | null;
  /** File name of the body under the blobs directory; null for delete markers. */
  blob: string | null;
}

export interface UploadPart {
  partNumber: number;
  etag: string;
  size: number;
  blob: string;
  lastModified: number;
}

export interface MultipartUpload {
  uploadId: string;
  key: string;
  initiated: number;
  contentType: string;
  metadata: Record<string, string>;
  parts: Record<number, UploadPart>;
}

export interface LifecycleRule {
  id: string;
  enabled: boolean;
  prefix: string;
  noncurrentDays: number | null;
  abortIncompleteDays: number | null;
  expiredObjectDeleteMarker: boolean;
}

export interface Bucket {
  name: string;
  region: string;
  created: number;
  versioning: Versioning;
  /** The bucket policy as put (JSON text), null when none. */
  policy: string | null;
  lifecycle: LifecycleRule[] | null;
  /** key → versions, newest first. */
  objects: Record<string, ObjectVersion[]>;
  uploads: Record<string, MultipartUpload>;
}

export const REGIONS = ['fr-par', 'nl-ams', 'pl-waw'] as const;

/** S3 bucket naming rules (3–63 characters, lower case, digits, dots, hyphens; starts and ends alphanumeric; not an IP). */
export function validBucketName(name: string): boolean {
  return /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(name) && !/\.\./.test(name) && !/^\d+\.\d+\.\d+\.\d+$/.test(name);
}
