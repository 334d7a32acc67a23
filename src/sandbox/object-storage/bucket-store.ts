/**
 * The buckets and their objects, kept on disk as a provider keeps them: every
 * body is a file under <dir>/blobs/, written before the request is answered;
 * each bucket's index (versions, policy, lifecycle, uploads) is a JSON file
 * under <dir>/buckets/, rewritten (temporary file + rename) before the
 * request that changed it is answered. Writes to one bucket's index are
 * coalesced: a burst of PUTs costs one rewrite per flush, not one per PUT.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { noSuchBucket, S3Error } from './errors.ts';
import type { Bucket, ObjectVersion, Versioning } from './model.ts';

export class BucketStore {
  readonly buckets = new Map<string, Bucket>();
  private readonly dir: string;
  private readonly flushing = new Map<string, Promise<void>>();
  private readonly dirty = new Set<string>();

  constructor(dir: string) {
    this.dir = dir;
  }

  private get bucketsDir() {
    return join(this.dir, 'buckets');
  }
  private get blobsDir() {
    return join(this.dir, 'blobs');
  }

  async load(): Promise<void> {
    await mkdir(this.bucketsDir, { recursive: true, mode: 0o700 });
    await mkdir(this.blobsDir, { recursive: true, mode: 0o700 });
    for (const file of await readdir(this.bucketsDir)) {
      if (!file.endsWith('.json')) continue;
      const bucket = JSON.parse(await readFile(join(this.bucketsDir, file), 'utf8')) as Bucket;
      this.buckets.set(bucket.name, bucket);
    }
  }

  bucket(name: string): Bucket {
    const bucket = this.buckets.get(name);
    if (!bucket) throw noSuchBucket(name);
    return bucket;
  }

  newVersionId(): string {
    return randomBytes(16).toString('base64url');
  }

  async writeBlob(data: Buffer): Promise<string> {
    const name = randomBytes(16).toString('hex');
    await writeFile(join(this.blobsDir, name), data, { mode: 0o600 });
    return name;
  }

  readBlob(name: string): Promise<Buffer> {
    return readFile(join(this.blobsDir, name));
  }

  /** Removes bodies no index refers to any more (after the index that dropped them is on disk). */
  async dropBlobs(names: (string | null)[]): Promise<void> {
    await Promise.all(names.filter((n): n is string => n !== null).map((n) => rm(join(this.blobsDir, n), { force: true })));
  }

  async createBucket(name: string, region: string, now: number): Promise<Bucket> {
    const bucket: Bucket = { name, region, created: now, versioning: 'Unversioned', policy: null, lifecycle: null, objects: {}, uploads: {} };
    this.buckets.set(name, bucket);
    await this.save(name);
    return bucket;
  }

  async deleteBucket(name: string): Promise<void> {
    const bucket = this.bucket(name);
    if (Object.keys(bucket.objects).length > 0) throw new S3Error('BucketNotEmpty', 'The bucket you tried to delete is not empty', { BucketName: name });
    const parts = Object.values(bucket.uploads).flatMap((u) => Object.values(u.parts).map((p) => p.blob));
    this.buckets.delete(name);
    await this.save(name);
    await this.dropBlobs(parts);
  }

  /**
   * Puts a new version on top of `key` (an object or a delete marker). Unversioned and
   * suspended buckets replace the `null` version, whose body goes; versioned ones keep
   * every earlier version, now noncurrent.
   */
  async putVersion(bucketName: string, version: Omit<ObjectVersion, 'versionId' | 'noncurrentSince'>, now: number): Promise<ObjectVersion> {
    const bucket = this.bucket(bucketName);
    const versions = bucket.objects[version.key] ?? [];
    const versionId = bucket.versioning === 'Enabled' ? this.newVersionId() : 'null';
    const dropped = versionId === 'null' ? versions.filter((v) => v.versionId === 'null') : [];
    const kept = versions.filter((v) => !dropped.includes(v));
    for (const v of kept) v.noncurrentSince ??= now;
    const created: ObjectVersion = { ...version, versionId, noncurrentSince: null };
    bucket.objects[version.key] = [created, ...kept];
    await this.save(bucketName);
    await this.dropBlobs(dropped.map((v) => v.blob));
    return created;
  }

  /** Removes one version for good (a versioned DELETE with versionId, or the lifecycle). */
  async removeVersion(bucketName: string, key: string, versionId: string): Promise<ObjectVersion | null> {
    const bucket = this.bucket(bucketName);
    const versions = bucket.objects[key] ?? [];
    const found = versions.find((v) => v.versionId === versionId);
    if (!found) return null;
    const rest = versions.filter((v) => v !== found);
    if (rest.length === 0) delete bucket.objects[key];
    else {
      bucket.objects[key] = rest;
      rest[0]!.noncurrentSince = null;
    }
    await this.save(bucketName);
    await this.dropBlobs([found.blob]);
    return found;
  }

  async setVersioning(bucketName: string, status: Exclude<Versioning, 'Unversioned'>): Promise<void> {
    this.bucket(bucketName).versioning = status;
    await this.save(bucketName);
  }

  /** Writes the bucket's index (or removes it once the bucket is gone); concurrent calls share one write. */
  async save(name: string): Promise<void> {
    this.dirty.add(name);
    const running = this.flushing.get(name);
    if (running) {
      await running;
      if (!this.dirty.has(name)) return;
      return this.save(name);
    }
    const flush = (async () => {
      this.dirty.delete(name);
      const file = join(this.bucketsDir, `${name}.json`);
      const bucket = this.buckets.get(name);
      if (!bucket) {
        if (existsSync(file)) await rm(file, { force: true });
        return;
      }
      const tmp = `${file}.tmp`;
      await writeFile(tmp, JSON.stringify(bucket), { mode: 0o600 });
      await rename(tmp, file);
    })();
    this.flushing.set(name, flush);
    try {
      await flush;
    } finally {
      this.flushing.delete(name);
    }
  }
}
