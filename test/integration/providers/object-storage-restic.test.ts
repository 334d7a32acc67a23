/**
 * Backup storage proved by the real restic (Debian's, S3 through minio-go)
 * against the Object Storage emulator, with the keys the real adapter mints:
 * a server's key backs up and restores its own repository, cannot reach
 * another server's, and cannot destroy its own history; the control plane's
 * key runs retention and check; erasure leaves nothing.
 */
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, ListObjectVersionsCommand, DeleteObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RepositoryAccess } from '../../../src/providers/storage/interface.ts';
import { restic as runRestic, s3With, startObjectStorage, type ObjectStorageWorld } from '../../support/object-storage.ts';
import { requireProgram } from '../../support/real-tools.ts';
import { ensureSandboxCa, issueIpCertificate } from '../../../src/sandbox/hosts/sandbox-ca.ts';

const SERVER_A = '0a000000-0000-4000-8000-00000000000a';
const SERVER_B = '0b000000-0000-4000-8000-00000000000b';
const DAY = 86_400_000;

let world: ObjectStorageWorld;
let serverA: RepositoryAccess;
let serverB: RepositoryAccess;
let bin = '';
let cacheDir = '';
const restic = (access: RepositoryAccess, args: string[], repository?: string) =>
  runRestic(bin, access, args, { cacheDir, ...(repository ? { repository } : {}) });

async function treeHashes(root: string, dir = root, out: Record<string, string> = {}): Promise<Record<string, string>> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await treeHashes(root, path, out);
    else
      out[path.slice(root.length)] = createHash('sha256')
        .update(await readFile(path))
        .digest('hex');
  }
  return out;
}

async function keysUnder(access: RepositoryAccess, prefix: string): Promise<string[]> {
  const admin = s3With(await world.storage.adminAccess({ serverId: SERVER_A, region: access.region }));
  const page = await admin.send(new ListObjectsV2Command({ Bucket: access.bucket, Prefix: prefix }));
  return (page.Contents ?? []).map((c) => c.Key!);
}

beforeAll(async () => {
  world = await startObjectStorage();
  cacheDir = join(world.dir, 'restic-cache');
  serverA = await world.storage.ensureServerRepository({ serverId: SERVER_A, region: 'fr-par', noncurrentRetentionDays: 2 });
  serverB = await world.storage.ensureServerRepository({ serverId: SERVER_B, region: 'fr-par', noncurrentRetentionDays: 2 });
  // Mail: a Maildir with a few messages, one binary and one larger than a restic chunk boundary.
  const mail = join(world.dir, 'mail', 'alice', 'Maildir', 'cur');
  await mkdir(mail, { recursive: true });
  for (let i = 0; i < 20; i++) await writeFile(join(mail, `${1700000000 + i}.M${i}P1.mx:2,S`), `Subject: message ${i}\r\n\r\n${'body '.repeat(200 * i)}\r\n`);
  await writeFile(join(mail, 'attachment.bin'), createHash('sha512').update('seed').digest().toString('hex').repeat(40_000));
});

afterAll(async () => {
  await world?.close();
});

describe('restic through the object storage emulator', () => {
  it("backs up a Maildir with the server's own key and restores it byte for byte, also after a sandbox restart", async (ctx) => {
    bin = requireProgram(ctx, 'restic', 'restic');
    expect(serverA.repository).toBe(`s3:${world.emulator.url}/mp-backup-${SERVER_A}`);
    expect((await restic(serverA, ['init'])).status).toBe(0);
    const backup = await restic(serverA, ['backup', join(world.dir, 'mail')]);
    expect(backup.stderr).toBe('');
    expect(backup.status).toBe(0);
    const snapshots = JSON.parse((await restic(serverA, ['snapshots', '--json'])).stdout) as { paths: string[] }[];
    expect(snapshots).toHaveLength(1);

    await world.restart();
    const moved = { ...serverA, endpoint: world.emulator.url, repository: `s3:${world.emulator.url}/${serverA.bucket}` };
    const target = join(world.dir, 'restored');
    const restore = await restic(moved, ['restore', 'latest', '--target', target], moved.repository);
    expect(restore.status).toBe(0);
    const original = await treeHashes(join(world.dir, 'mail'));
    const restored = await treeHashes(join(target, world.dir, 'mail'));
    expect(Object.keys(original)).toHaveLength(21);
    expect(restored).toEqual(original);
    serverA = moved;
    serverB = { ...serverB, endpoint: world.emulator.url, repository: `s3:${world.emulator.url}/${serverB.bucket}` };
  });

  it("refuses a server's key another server's repository, to restic and to a raw S3 call", async (ctx) => {
    bin = requireProgram(ctx, 'restic', 'restic');
    expect((await restic(serverB, ['init'])).status).toBe(0);
    const intruder = await restic(serverA, ['snapshots'], serverB.repository);
    expect(intruder.status).not.toBe(0);
    const s3 = s3With(serverA);
    await expect(s3.send(new ListObjectsV2Command({ Bucket: serverB.bucket }))).rejects.toMatchObject({
      name: 'AccessDenied',
      $metadata: { httpStatusCode: 403 },
    });
    await expect(s3.send(new GetObjectCommand({ Bucket: serverB.bucket, Key: 'config' }))).rejects.toMatchObject({ name: 'AccessDenied' });
  });

  it("refuses a server's key the deletion of its own snapshots: restic forget --prune fails and every object stays", async (ctx) => {
    bin = requireProgram(ctx, 'restic', 'restic');
    expect((await restic(serverA, ['backup', join(world.dir, 'mail')])).status).toBe(0);
    const before = await keysUnder(serverA, 'snapshots/');
    const dataBefore = await keysUnder(serverA, 'data/');
    expect(before).toHaveLength(2);
    // restic 0.14 retries a refused delete ten times with backoff (about a minute) before it gives up.
    const forget = await restic(serverA, ['forget', '--keep-last', '1', '--prune']);
    expect(forget.status).not.toBe(0);
    expect(forget.stderr).toMatch(/Access Denied/);
    expect(await keysUnder(serverA, 'snapshots/')).toEqual(before);
    expect(await keysUnder(serverA, 'data/')).toEqual(dataBefore);
    // Raw calls: no delete outside locks/, no version deletion; an overwrite keeps the old version.
    const s3 = s3With(serverA);
    await expect(s3.send(new DeleteObjectCommand({ Bucket: serverA.bucket, Key: before[0]! }))).rejects.toMatchObject({ name: 'AccessDenied' });
    const versions = await s3.send(new ListObjectVersionsCommand({ Bucket: serverA.bucket, Prefix: 'config' })).catch((e: unknown) => e);
    expect(versions).toMatchObject({ name: 'AccessDenied' });
    expect((await restic(serverA, ['check'])).status).toBe(0);
  }, 180_000);

  it("lets the control plane's key forget, prune and check; the lifecycle then expires what prune removed", async (ctx) => {
    bin = requireProgram(ctx, 'restic', 'restic');
    const admin = await world.storage.adminAccess({ serverId: SERVER_A, region: 'fr-par' });
    expect(admin.repository).toBe(serverA.repository);
    const forget = await restic(admin, ['forget', '--keep-last', '1', '--prune']);
    expect(forget.stderr).toBe('');
    expect(forget.status).toBe(0);
    expect(await keysUnder(serverA, 'snapshots/')).toHaveLength(1);
    expect((await restic(admin, ['check', '--read-data'])).status).toBe(0);
    // The forgotten snapshot is a noncurrent version now: kept for the retention days, then gone.
    const count = () => world.storage.countObjectVersions({ serverId: SERVER_A, region: 'fr-par' });
    const withHistory = await count();
    // Sweep as of a later day, then back to now: the signatures of the next calls are checked against the same clock.
    const sweepAt = async (ms: number) => {
      world.advance(ms);
      try {
        return await world.emulator.sweepLifecycle();
      } finally {
        world.advance(-ms);
      }
    };
    expect(await sweepAt(DAY)).toBe(0);
    expect(await count()).toBe(withHistory);
    expect(await sweepAt(2 * DAY + 60_000)).toBeGreaterThan(0);
    expect(await count()).toBeLessThan(withHistory);
  });

  it('serves restic over HTTPS with a certificate from the sandbox CA, as real hosts reach it', async (ctx) => {
    bin = requireProgram(ctx, 'restic', 'restic');
    requireProgram(ctx, 'openssl', 'openssl');
    const caDir = join(world.dir, 'ca');
    await ensureSandboxCa(caDir);
    const tls = await issueIpCertificate({ dir: caDir }, 'object-storage', '127.0.0.1');
    const url = await world.emulator.listenAlso('127.0.0.1', 0, { cert: await readFile(tls.certPath), key: await readFile(tls.keyPath) });
    expect(url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const overTls = { ...serverA, endpoint: url, repository: `s3:${url}/${serverA.bucket}` };
    const cacert = ['--cacert', join(caDir, 'ca.crt')];
    // minio-go over TLS sends UNSIGNED-PAYLOAD bodies (over plain HTTP it signs every chunk).
    const backup = await restic(overTls, [...cacert, 'backup', join(world.dir, 'mail', 'alice')], overTls.repository);
    expect(backup.status).toBe(0);
    expect((await restic(overTls, [...cacert, 'check'], overTls.repository)).status).toBe(0);
    // Without the sandbox CA, the certificate is not trusted: no silent plain-text fallback.
    expect((await restic(overTls, ['snapshots'], overTls.repository)).status).not.toBe(0);
  });

  it('erases a repository: deleteRepository leaves no version behind, and revoked keys stop working', async () => {
    await world.storage.deleteRepository({ serverId: SERVER_B, region: 'fr-par' });
    expect(await world.storage.countObjectVersions({ serverId: SERVER_B, region: 'fr-par' })).toBe(0);
    expect(world.emulator.countVersions(serverB.bucket)).toBe(0);
    expect(world.emulator.store.buckets.has(serverB.bucket)).toBe(false);
    await world.storage.deleteRepository({ serverId: SERVER_B, region: 'fr-par' });
    await world.storage.revokeServerCredentials({ serverId: SERVER_A, region: 'fr-par' });
    await expect(s3With(serverA).send(new ListObjectsV2Command({ Bucket: serverA.bucket }))).rejects.toMatchObject({
      name: 'InvalidAccessKeyId',
      $metadata: { httpStatusCode: 403 },
    });
  });
});
