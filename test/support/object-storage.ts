/**
 * The Object Storage and Scaleway (IAM) emulators for one test file, on
 * loopback, with a clock the test moves, and the real adapter pointed at them.
 * `restic()` runs the real binary asynchronously (the emulators answer from
 * this same process, so a synchronous spawn would deadlock).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import type { BackupStorage, RepositoryAccess } from '../../src/providers/storage/interface.ts';
import { createScalewayObjectStorage } from '../../src/providers/storage/scaleway-object-storage.ts';
import { ObjectStorageEmulator } from '../../src/sandbox/object-storage/emulator.ts';
import { SANDBOX_SCW_ACCOUNT } from '../../src/sandbox/sandbox.ts';
import { ScalewayEmulator } from '../../src/sandbox/scaleway/emulator.ts';

export interface ObjectStorageWorld {
  dir: string;
  emulator: ObjectStorageEmulator;
  scaleway: ScalewayEmulator;
  storage: BackupStorage;
  /** Moves the emulator's clock (lifecycle ages, signature skew). */
  advance(ms: number): void;
  /** A new emulator on the same data directory (a sandbox restart); the adapter follows it. */
  restart(): Promise<void>;
  close(): Promise<void>;
}

export async function startObjectStorage(): Promise<ObjectStorageWorld> {
  const dir = await mkdtemp(join(tmpdir(), 'mailplane-objstore-'));
  let offset = 0;
  const now = () => Date.now() + offset;
  const make = () => new ObjectStorageEmulator({ dataDir: dir, account: SANDBOX_SCW_ACCOUNT, now, sweepEveryMs: 0 });
  const world: ObjectStorageWorld = {
    dir,
    emulator: make(),
    scaleway: null as unknown as ScalewayEmulator,
    storage: null as unknown as BackupStorage,
    advance: (ms) => {
      offset += ms;
    },
    async restart() {
      await world.emulator.stop();
      await world.scaleway.stop();
      world.emulator = make();
      await wire();
    },
    async close() {
      await world.emulator.stop();
      await world.scaleway.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
  const wire = async () => {
    const emulator = world.emulator;
    world.scaleway = new ScalewayEmulator({ extraRoutes: (app) => emulator.registerIamRoutes(app) });
    await world.scaleway.start();
    await emulator.start();
    world.storage = createScalewayObjectStorage({ ...SANDBOX_SCW_ACCOUNT, apiUrl: world.scaleway.url, endpointTemplate: emulator.url });
  };
  await wire();
  return world;
}

/** An S3 client with one credential, as a server or an attacker would hold it. */
export function s3With(access: Pick<RepositoryAccess, 'endpoint' | 'region' | 'accessKeyId' | 'secretAccessKey'>): S3Client {
  return new S3Client({
    endpoint: access.endpoint,
    region: access.region,
    forcePathStyle: true,
    maxAttempts: 1,
    credentials: { accessKeyId: access.accessKeyId, secretAccessKey: access.secretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

export interface ResticResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs restic against a repository with one credential, as a server's backup job would. */
export function restic(
  bin: string,
  access: RepositoryAccess,
  args: string[],
  opts: { cacheDir: string; repository?: string; extraEnv?: Record<string, string> },
): Promise<ResticResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, {
      env: {
        PATH: process.env['PATH'] ?? '/usr/bin:/bin',
        HOME: opts.cacheDir,
        RESTIC_REPOSITORY: opts.repository ?? access.repository,
        RESTIC_PASSWORD: 'correct horse battery staple',
        RESTIC_CACHE_DIR: opts.cacheDir,
        AWS_ACCESS_KEY_ID: access.accessKeyId,
        AWS_SECRET_ACCESS_KEY: access.secretAccessKey,
        AWS_DEFAULT_REGION: access.region,
        ...opts.extraEnv,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    child.on('error', reject);
    child.on('exit', (status) => resolve({ status, stdout, stderr }));
  });
}
