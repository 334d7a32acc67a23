/**
 * Object Storage as the real hosts reach it: HTTPS on the sandbox uplink with
 * a certificate from the sandbox CA. restic runs in the sandbox internet's
 * router namespace (where the machines' traffic goes), with a server's key
 * from the real adapter and the repository string the adapter hands out.
 * The machines trust the sandbox CA in their system store; the router
 * namespace shares this machine's store, hence --cacert here.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BackupStorage, RepositoryAccess } from '../../../src/providers/storage/interface.ts';
import { createScalewayObjectStorage } from '../../../src/providers/storage/scaleway-object-storage.ts';
import { Sandbox } from '../../../src/sandbox/sandbox.ts';
import { INTERNET_NS } from './support/internet.ts';
import { missingForRealHosts } from './support/product.ts';

const missing = [...missingForRealHosts(), ...(existsSync('/usr/bin/restic') ? [] : ['/usr/bin/restic'])];
if (missing.length > 0 && process.env['MAILPLANE_REQUIRE_TOOLS'] === '1') throw new Error(`real-host e2e needs: ${missing.join(', ')}`);

function resticInInternet(access: RepositoryAccess, args: string[], dir: string, caFile: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(
      'ip',
      ['netns', 'exec', INTERNET_NS, 'restic', '--cacert', caFile, ...args],
      {
        timeout: 120_000,
        env: {
          PATH: process.env['PATH'] ?? '/usr/bin:/bin',
          HOME: dir,
          RESTIC_CACHE_DIR: join(dir, 'cache'),
          RESTIC_PASSWORD: 'e2e object storage',
          RESTIC_REPOSITORY: access.repository,
          AWS_ACCESS_KEY_ID: access.accessKeyId,
          AWS_SECRET_ACCESS_KEY: access.secretAccessKey,
          AWS_DEFAULT_REGION: access.region,
        },
      },
      (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, output: `${String(stdout)}${String(stderr)}` }),
    );
  });
}

describe.skipIf(missing.length > 0)('object storage on the sandbox uplink, for real hosts', () => {
  let dir = '';
  let sandbox: Sandbox;
  let storage: BackupStorage;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mailplane-e2e-objstore-'));
    sandbox = new Sandbox({
      compute: true,
      dns: true,
      billing: true,
      dataDir: dir,
      dnsblZones: [],
      realHosts: {
        cacheDir: process.env['SANDBOX_HOSTS_CACHE_DIR'] ?? '/var/cache/mailplane',
        mirror: process.env['SANDBOX_DEBIAN_MIRROR'] ?? 'http://deb.debian.org/debian',
      },
    });
    await sandbox.start();
    const env = sandbox.env();
    storage = createScalewayObjectStorage({
      accessKey: env['SCW_ACCESS_KEY']!,
      secretKey: env['SCW_SECRET_KEY']!,
      projectId: env['SCW_DEFAULT_PROJECT_ID']!,
      apiUrl: env['SCW_API_URL']!,
      endpointTemplate: env['SCW_S3_ENDPOINT']!,
      serverEndpointTemplate: env['SCW_S3_SERVER_ENDPOINT']!,
    });
  });

  afterAll(async () => {
    await sandbox?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("hands servers an HTTPS repository on the uplink, where restic backs up and checks with the server's key", async () => {
    const access = await storage.ensureServerRepository({ serverId: '0f000000-0000-4000-8000-00000000000f', region: 'fr-par', noncurrentRetentionDays: 2 });
    expect(access.repository).toBe('s3:https://198.18.255.1:9000/mp-backup-0f000000-0000-4000-8000-00000000000f');
    const caFile = join(sandbox.realHosts!.sandboxCaDir, 'ca.crt');
    const data = join(dir, 'maildir');
    await mkdir(data, { recursive: true });
    await writeFile(join(data, '1700000000.M1P1.mx:2,S'), 'Subject: kept\r\n\r\nbody\r\n');
    const init = await resticInInternet(access, ['init'], dir, caFile);
    expect(init.code, init.output).toBe(0);
    const backup = await resticInInternet(access, ['backup', data], dir, caFile);
    expect(backup.code, backup.output).toBe(0);
    const check = await resticInInternet(access, ['check'], dir, caFile);
    expect(check.code, check.output).toBe(0);
  });
});
